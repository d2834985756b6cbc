#include "crypto/jwt.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "crypto/base64.hpp"
#include "crypto/digest.hpp"

namespace october::crypto {
namespace {

namespace json = boost::json;

const std::string kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::int64_t kNow = 1'800'000'000;

// A token with any header and payload text, signed with HMAC-SHA256 whatever the header says.
std::string forge(std::string_view header, std::string_view payload,
                  std::string_view secret = kSecret) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

json::object claims(std::int64_t exp) { return {{"sub", "alice"}, {"iat", kNow}, {"exp", exp}}; }

TEST(Jwt, RoundTrip) {
  std::string token = sign_hs256(claims(kNow + 60), kSecret);
  auto verified = verify_hs256(token, kSecret, kNow);
  ASSERT_TRUE(verified.ok()) << verified.detail;
  EXPECT_EQ(verified.claims.at("sub").as_string(), "alice");
  EXPECT_EQ(verified.claims.at("exp").to_number<std::int64_t>(), kNow + 60);
  auto header = json::parse(*base64url_decode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header.at("alg").as_string(), "HS256");
  EXPECT_EQ(header.at("typ").as_string(), "JWT");
}

TEST(Jwt, AcceptsTheRfc7515Example) {
  // RFC 7515 appendix A.1: another implementation's HS256 token and key (its exp is 1300819380).
  auto key = base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key);
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto verified = verify_hs256(token, *key, 1300819379);
  ASSERT_TRUE(verified.ok()) << verified.detail;
  EXPECT_EQ(verified.claims.at("iss").as_string(), "joe");
  EXPECT_EQ(verify_hs256(token, *key, 1300819380).error, TokenError::expired);
}

TEST(Jwt, TamperedPayloadOrSignatureOrWrongSecret) {
  std::string token = sign_hs256(claims(kNow + 60), kSecret);
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  std::string other_payload = base64url_encode(R"({"sub":"mallory","exp":1900000000})");
  std::string tampered = token.substr(0, first + 1) + other_payload + token.substr(second);
  EXPECT_EQ(verify_hs256(tampered, kSecret, kNow).error, TokenError::bad_signature);

  std::string signature = token.substr(second + 1);
  signature[0] = signature[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_hs256(token.substr(0, second + 1) + signature, kSecret, kNow).error,
            TokenError::bad_signature);
  // A signature cut short, and a missing one.
  EXPECT_EQ(verify_hs256(token.substr(0, token.size() - 3), kSecret, kNow).error,
            TokenError::bad_signature);
  EXPECT_EQ(verify_hs256(token.substr(0, second + 1), kSecret, kNow).error,
            TokenError::bad_signature);

  auto wrong = verify_hs256(token, "another secret of thirty-two bytes", kNow);
  EXPECT_EQ(wrong.error, TokenError::bad_signature);
  EXPECT_EQ(error_code(wrong.error), "bad_signature");
}

TEST(Jwt, ExpiryAndNotBefore) {
  EXPECT_EQ(verify_hs256(sign_hs256(claims(kNow), kSecret), kSecret, kNow).error,
            TokenError::expired);
  auto expired = verify_hs256(sign_hs256(claims(kNow - 1), kSecret), kSecret, kNow);
  EXPECT_EQ(expired.error, TokenError::expired);
  EXPECT_NE(expired.detail.find("expired"), std::string::npos) << expired.detail;
  EXPECT_TRUE(verify_hs256(sign_hs256(claims(kNow + 1), kSecret), kSecret, kNow).ok());

  json::object no_exp{{"sub", "alice"}};
  EXPECT_EQ(verify_hs256(sign_hs256(no_exp, kSecret), kSecret, kNow).error,
            TokenError::missing_claim);
  json::object text_exp{{"sub", "alice"}, {"exp", "tomorrow"}};
  EXPECT_EQ(verify_hs256(sign_hs256(text_exp, kSecret), kSecret, kNow).error,
            TokenError::malformed);
  json::object later = claims(kNow + 60);
  later["nbf"] = kNow + 30;
  EXPECT_EQ(verify_hs256(sign_hs256(later, kSecret), kSecret, kNow).error,
            TokenError::not_yet_valid);
  EXPECT_TRUE(verify_hs256(sign_hs256(later, kSecret), kSecret, kNow + 30).ok());
  json::object fractional{{"exp", static_cast<double>(kNow) + 0.5}};
  EXPECT_TRUE(verify_hs256(sign_hs256(fractional, kSecret), kSecret, kNow).ok());
}

TEST(Jwt, OnlyHs256IsAccepted) {
  const std::string payload = R"({"sub":"alice","exp":1900000000})";
  // alg none, unsigned (the classic bypass), and signed anyway.
  std::string none =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload) + ".";
  auto refused = verify_hs256(none, kSecret, kNow);
  EXPECT_EQ(refused.error, TokenError::unsupported_algorithm);
  EXPECT_NE(refused.detail.find("\"none\""), std::string::npos) << refused.detail;
  EXPECT_EQ(error_code(refused.error), "unsupported_algorithm");
  // Each is signed with the right secret by HMAC-SHA256: only the header's claim differs.
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"HS512"})",
                             R"({"alg":"RS256"})", R"({"alg":"hs256"})", R"({"alg":256})",
                             R"({"typ":"JWT"})", R"({"alg":"HS256","crit":["exp"]})"}) {
    EXPECT_EQ(verify_hs256(forge(header, payload), kSecret, kNow).error,
              TokenError::unsupported_algorithm)
        << header;
  }
  EXPECT_TRUE(verify_hs256(forge(R"({"alg":"HS256"})", payload), kSecret, kNow).ok());
}

TEST(Jwt, MalformedTokens) {
  std::string good = sign_hs256(claims(kNow + 60), kSecret);
  for (const std::string& token :
       {std::string(), std::string("abc"), std::string("a.b"), good + ".x", good + ".",
        std::string(".."), "!!." + good.substr(good.find('.') + 1)}) {
    auto verified = verify_hs256(token, kSecret, kNow);
    EXPECT_EQ(verified.error, TokenError::malformed) << token;
    EXPECT_FALSE(verified.detail.empty());
  }
  // Header and payload that are base64url but not JSON objects.
  EXPECT_EQ(verify_hs256(forge("[]", R"({"exp":1900000000})"), kSecret, kNow).error,
            TokenError::malformed);
  EXPECT_EQ(verify_hs256(forge("{", R"({"exp":1900000000})"), kSecret, kNow).error,
            TokenError::malformed);
  EXPECT_EQ(verify_hs256(forge(R"({"alg":"HS256"})", "42"), kSecret, kNow).error,
            TokenError::malformed);
  // Padding or the standard alphabet in the signature.
  EXPECT_EQ(verify_hs256(good + "=", kSecret, kNow).error, TokenError::malformed);
  std::string plus = good;
  plus.back() = '+';
  EXPECT_EQ(verify_hs256(plus, kSecret, kNow).error, TokenError::malformed);
}

}  // namespace
}  // namespace october::crypto
