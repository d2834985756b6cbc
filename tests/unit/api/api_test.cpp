#include "api/api.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace october::api {
namespace {

TEST(BackendUrls, SplitsAndTrims) {
  EXPECT_TRUE(parse_backend_urls("").empty());
  auto urls = parse_backend_urls("http://a:1/x, http://b/y ,http://[::1]:3");
  ASSERT_EQ(urls.size(), 3U);
  EXPECT_EQ(urls[0].text(), "http://a:1/x");
  EXPECT_EQ(urls[1].text(), "http://b/y");
  EXPECT_EQ(urls[2].text(), "http://[::1]:3/");
}

TEST(BackendUrls, RefusesEmptyEntriesBadUrlsAndTooMany) {
  EXPECT_THROW(parse_backend_urls(","), std::invalid_argument);
  EXPECT_THROW(parse_backend_urls("http://a,"), std::invalid_argument);
  EXPECT_THROW(parse_backend_urls("http://a,,http://b"), std::invalid_argument);
  EXPECT_THROW(parse_backend_urls("http://a,ftp://b"), std::invalid_argument);
  std::string many;
  for (std::size_t i = 0; i <= kMaxBackends; ++i) {
    if (i > 0) many += ',';
    many += "http://a";
  }
  EXPECT_THROW(parse_backend_urls(many), std::invalid_argument);
  many = many.substr(many.find(',') + 1);
  EXPECT_EQ(parse_backend_urls(many).size(), kMaxBackends);
}

}  // namespace
}  // namespace october::api
