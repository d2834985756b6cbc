#include <gtest/gtest.h>

#include "redis/client.hpp"

namespace october::redis {
namespace {

TEST(RedisUrl, Defaults) {
  auto url = Url::parse("redis://localhost");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
}

TEST(RedisUrl, FullForm) {
  auto url = Url::parse("redis://user:secret@redis.example:6380/3");
  EXPECT_EQ(url.host, "redis.example");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 3);
  EXPECT_EQ(url.username, "user");
  EXPECT_EQ(url.password, "secret");
  EXPECT_EQ(url.redacted(), "redis://user:****@redis.example:6380/3");
}

TEST(RedisUrl, PasswordOnlyAndIpv6) {
  auto url = Url::parse("redis://:pw@[::1]:7000/1");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 7000);
  EXPECT_EQ(url.password, "pw");
  EXPECT_EQ(url.db, 1);
}

TEST(RedisUrl, RejectsBadInput) {
  EXPECT_THROW(Url::parse("http://localhost"), std::invalid_argument);
  EXPECT_THROW(Url::parse("redis://"), std::invalid_argument);
  EXPECT_THROW(Url::parse("redis://host:0"), std::invalid_argument);
  EXPECT_THROW(Url::parse("redis://host:port"), std::invalid_argument);
  EXPECT_THROW(Url::parse("redis://host/99"), std::invalid_argument);
}

TEST(RedisConnection, UnreachableServerIsReportedNotThrown) {
  Connection connection(Url::parse("redis://127.0.0.1:1"), std::chrono::milliseconds(200));
  auto failure = connection.ping();
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace october::redis

namespace october::redis {
namespace {

TEST(Reply, CheckedPassesRepliesAndThrowsOnErrorReplies) {
  Reply ok;
  ok.kind = Reply::Kind::integer;
  ok.integer = 3;
  EXPECT_EQ(checked(ok).integer, 3);
  Reply error;
  error.kind = Reply::Kind::error;
  error.text = "WRONGTYPE Operation against a key holding the wrong kind of value";
  try {
    checked(error);
    FAIL() << "expected redis::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "redis error: " + error.text);
  }
}

}  // namespace
}  // namespace october::redis
