#include "crypto/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace october::crypto {
namespace {

TEST(Base64, RoundTripsAndRefusesWhatIsNotBase64) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("ab!="));
}

TEST(Base64, UrlAlphabetWithoutPadding) {
  // RFC 4648 section 10 vectors, padding dropped.
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // 0xfb 0xff: '+' and '/' in the standard alphabet, '-' and '_' here.
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  for (std::size_t n = 0; n <= every_byte.size(); n += 17) {
    EXPECT_EQ(base64url_decode(base64url_encode(every_byte.substr(0, n))), every_byte.substr(0, n));
  }
}

TEST(Base64, UrlDecoderTakesOnlyTheCanonicalForm) {
  EXPECT_FALSE(base64url_decode("Zm8="));  // padding
  EXPECT_FALSE(base64url_decode("+_8"));   // standard alphabet
  EXPECT_FALSE(base64url_decode("-/8"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));  // 4n+1 characters: no whole byte
  EXPECT_FALSE(base64url_decode("Zm 8"));
  EXPECT_FALSE(base64url_decode("Zm.8"));
  // "QQ" is "A"; "QR" sets unused low bits and would be a second spelling of it.
  EXPECT_EQ(base64url_decode("QQ"), "A");
  EXPECT_FALSE(base64url_decode("QR"));
  EXPECT_FALSE(base64url_decode("Zm9"));  // "fo" is "Zm8"
}

}  // namespace
}  // namespace october::crypto
