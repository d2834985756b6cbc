#include "http/client.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace october::http {
namespace {

TEST(HttpUrl, Parses) {
  auto url = HttpUrl::parse("http://backend.ns.svc:8080/api/echo?x=1");
  EXPECT_EQ(url.host, "backend.ns.svc");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.target, "/api/echo?x=1");
  EXPECT_EQ(url.text(), "http://backend.ns.svc:8080/api/echo?x=1");

  auto bare = HttpUrl::parse("http://backend");
  EXPECT_EQ(bare.port, 80);
  EXPECT_EQ(bare.target, "/");
  EXPECT_EQ(bare.text(), "http://backend/");
  EXPECT_EQ(HttpUrl::parse("http://b?q").target, "/?q");

  auto v6 = HttpUrl::parse("http://[::1]:9000/x");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9000);
  EXPECT_EQ(v6.text(), "http://[::1]:9000/x");
}

TEST(HttpUrl, RefusesWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://b/", "http://"},    {"b:80", "http://"},
      {"http:///x", "no host"},     {"http://b:/", "1..65535"},
      {"http://b:0/", "1..65535"},  {"http://b:65536/", "1..65535"},
      {"http://b:8a/", "1..65535"}, {"http://u:p@b/", "credentials"},
      {"http://[::1/", "unclosed"}, {"http://[::1]x/", "junk"},
      {"http://b/a b", "spaces"},   {"http://b%41/", "bad host"},
  };
  for (const auto& [text, why] : cases) {
    try {
      HttpUrl::parse(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << text << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace october::http
