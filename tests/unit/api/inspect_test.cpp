#include "api/inspect.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace october::api {
namespace {

TEST(Inspect, HeadersKeepRepeatedFieldsAsListsInOrder) {
  auto json = headers_json({{"Host", "a"},
                            {"X-Forwarded-For", "10.0.0.1"},
                            {"Accept", "text/html"},
                            {"x-forwarded-for", "10.0.0.2"},
                            {"X-FORWARDED-FOR", "10.0.0.3"}});
  EXPECT_EQ(json, (boost::json::object{
                      {"host", "a"},
                      {"x-forwarded-for", boost::json::array{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
                      {"accept", "text/html"}}));
  EXPECT_TRUE(headers_json({}).empty());
}

TEST(Inspect, SecretNamesMatchInAnyCase) {
  for (const char* name : {"REDIS_PASSWORD", "jwt_secret", "GitHubToken", "API_KEY", "keyring"}) {
    EXPECT_TRUE(looks_secret(name)) << name;
  }
  for (const char* name : {"PATH", "HOME", "CELERY_BROKER_URL", "PASSWD", "TOKE"}) {
    EXPECT_FALSE(looks_secret(name)) << name;
  }
}

TEST(Inspect, UrlPasswordsAreMasked) {
  EXPECT_EQ(mask_url_passwords("redis://:pw@host:6379/0"), "redis://:***@host:6379/0");
  EXPECT_EQ(mask_url_passwords("redis://user:pw@host"), "redis://user:***@host");
  EXPECT_EQ(mask_url_passwords("rediss://u:p%40ss@[::1]:6380/2?x=1"),
            "rediss://u:***@[::1]:6380/2?x=1");
  // An '@' in the password: the authority's last '@' ends the userinfo.
  EXPECT_EQ(mask_url_passwords("redis://:a@b@host/0"), "redis://:***@host/0");
  // Every URL of a list.
  EXPECT_EQ(mask_url_passwords("http://a:1@x/p,http://y/q, amqp://b:2@z"),
            "http://a:***@x/p,http://y/q, amqp://b:***@z");
  // Nothing to mask: no userinfo, a user name alone, an empty password, an '@' past the host.
  for (const char* kept : {"redis://host:6379/0", "redis://user@host", "redis://user:@host",
                           "http://host/a:b@c", "plain text", "://x:y@z", "", "a://"}) {
    EXPECT_EQ(mask_url_passwords(kept), kept);
  }
}

TEST(Inspect, EnvironmentMasksSecretNamesAndUrlPasswords) {
  const char* entries[] = {"PATH=/usr/bin", "REDIS_PASSWORD=hunter2", "BROKER=redis://:pw@h/0",
                           "EMPTY=",        "WITH_EQUALS=a=b",        "=ignored",
                           nullptr};
  EXPECT_EQ(environment_json(entries), (boost::json::object{{"PATH", "/usr/bin"},
                                                            {"REDIS_PASSWORD", "***"},
                                                            {"BROKER", "redis://:***@h/0"},
                                                            {"EMPTY", ""},
                                                            {"WITH_EQUALS", "a=b"}}));
  EXPECT_TRUE(environment_json(nullptr).empty());
}

}  // namespace
}  // namespace october::api
