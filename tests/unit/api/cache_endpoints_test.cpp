#include "api/cache_endpoints.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "support/capturing_channel.hpp"

namespace october::api {
namespace {

using testing::CapturingChannel;

TEST(CacheEndpoints, KeysLiveUnderTheirOwnPrefix) {
  EXPECT_EQ(cache_redis_key("user-42"), "october:cache:user-42");
  // Celery's keys ("celery", "unacked", "celery-task-meta-<id>") never start with the prefix.
  EXPECT_FALSE(cache_redis_key("celery").starts_with("celery"));
}

TEST(CacheEndpoints, SetCommandForPutAndPost) {
  using Argv = std::vector<std::string>;
  EXPECT_EQ(cache_set_command("k", "v", 0, false), (Argv{"SET", "october:cache:k", "v"}));
  EXPECT_EQ(cache_set_command("k", "v", 30, false),
            (Argv{"SET", "october:cache:k", "v", "EX", "30"}));
  EXPECT_EQ(cache_set_command("k", "v", 0, true), (Argv{"SET", "october:cache:k", "v", "NX"}));
  EXPECT_EQ(cache_set_command("k", std::string("a\0b", 3), 5, true),
            (Argv{"SET", "october:cache:k", std::string("a\0b", 3), "EX", "5", "NX"}));
}

struct CacheFixture : ::testing::Test {
  ComputePool broker_pool{1, 1};
  // Never checked: the cached readiness stays "not ok", as when Redis is down.
  RedisHealth redis{redis::Url::parse("redis://127.0.0.1:1/0"), std::chrono::hours(1)};
  CommonConfig config;
  std::shared_ptr<CapturingChannel> channel = std::make_shared<CapturingChannel>();
  void TearDown() override { broker_pool.shutdown(); }
};

TEST_F(CacheFixture, RedisDownAnswers503WithRetryAfterAtOnce) {
  CacheEndpoints cache(config, broker_pool, redis, 16);
  cache.get("k", http::Responder(channel));
  ASSERT_EQ(channel->responses.size(), 1U);
  const auto& response = channel->responses.front();
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body.find("cache_unavailable"), std::string::npos) << response.body;
  ASSERT_EQ(response.headers.size(), 1U);
  EXPECT_EQ(response.headers.front().first, "Retry-After");
}

TEST_F(CacheFixture, ValueOverTheLimitIs413BeforeRedisIsAsked) {
  CacheEndpoints cache(config, broker_pool, redis, 16);
  http::Request request;
  request.body = std::string(17, 'x');
  cache.put("k", request, 0, false, http::Responder(channel));
  ASSERT_EQ(channel->responses.size(), 1U);
  EXPECT_EQ(channel->responses.front().status, 413);
  EXPECT_NE(channel->responses.front().body.find("CACHE_MAX_VALUE_BYTES allows 0 to 16"),
            std::string::npos)
      << channel->responses.front().body;
  // At the limit it goes on to Redis, here down.
  request.body = std::string(16, 'x');
  cache.put("k", request, 0, false, http::Responder(channel));
  EXPECT_EQ(channel->responses.back().status, 503);
}

}  // namespace
}  // namespace october::api
