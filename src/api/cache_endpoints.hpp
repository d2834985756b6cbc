#pragma once
// GET, PUT, POST and DELETE /cache/{key}: a small key-value cache on the broker's Redis. Redis
// calls block, so they run on the broker-call pool beside the task endpoints, never on an I/O
// thread; a Redis that is down answers 503 with Retry-After at once.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/compute_pool.hpp"
#include "http/types.hpp"
#include "redis/client.hpp"
#include "service/common_config.hpp"
#include "service/redis_health.hpp"

namespace october::api {

// Every cache key lives under this prefix, apart from Celery's and kombu's keys.
inline constexpr std::string_view kCacheKeyPrefix = "october:cache:";

std::string cache_redis_key(std::string_view key);

// SET for PUT (replace) or POST (only_if_absent: NX); ttl_seconds 0 keeps the value for good.
std::vector<std::string> cache_set_command(std::string_view key, std::string_view value,
                                           std::int64_t ttl_seconds, bool only_if_absent);

class CacheEndpoints {
 public:
  CacheEndpoints(const CommonConfig& config, ComputePool& broker_calls, const RedisHealth& redis,
                 std::int64_t max_value_bytes);

  void get(const std::string& key, const http::Responder& out);
  // PUT stores whatever was there; POST stores only when the key is free (else 409).
  void put(const std::string& key, const http::Request& request, std::int64_t ttl_seconds,
           bool only_if_absent, const http::Responder& out);
  void remove(const std::string& key, const http::Responder& out);

  [[nodiscard]] std::int64_t max_value_bytes() const { return max_value_bytes_; }

 private:
  // Runs `call` on the broker-call pool with that thread's connection; 503 when Redis fails.
  template <typename Call>
  void with_redis(const http::Responder& out, Call call);

  redis::Url url_;
  ComputePool& broker_calls_;
  const RedisHealth& redis_;
  std::int64_t max_value_bytes_;
};

}  // namespace october::api
