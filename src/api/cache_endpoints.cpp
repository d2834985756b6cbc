#include "api/cache_endpoints.hpp"

#include <memory>
#include <utility>

#include "api/routes.hpp"
#include "core/log.hpp"

namespace october::api {

using http::json_error;
using http::Response;

namespace {

constexpr auto kRedisTimeout = std::chrono::milliseconds(2000);

Response unavailable(const std::string& detail) {
  return retry_later(503, "cache_unavailable", "the cache's Redis is unavailable: " + detail);
}

Response stored(const std::string& key, std::size_t size, std::int64_t ttl, int status) {
  return json_response({{"key", key},
                        {"size", size},
                        {"ttl", ttl},
                        {"expires", ttl > 0 ? "in " + std::to_string(ttl) + " s" : "never"}},
                       status);
}

Response missing(const std::string& key) {
  return json_error(404, "not_found", "no cache entry for key '" + key + "'");
}

}  // namespace

std::string cache_redis_key(std::string_view key) {
  return std::string(kCacheKeyPrefix) + std::string(key);
}

std::vector<std::string> cache_set_command(std::string_view key, std::string_view value,
                                           std::int64_t ttl_seconds, bool only_if_absent) {
  std::vector<std::string> argv{"SET", cache_redis_key(key), std::string(value)};
  if (ttl_seconds > 0) {
    argv.emplace_back("EX");
    argv.push_back(std::to_string(ttl_seconds));
  }
  if (only_if_absent) argv.emplace_back("NX");
  return argv;
}

CacheEndpoints::CacheEndpoints(const CommonConfig& config, ComputePool& broker_calls,
                               const RedisHealth& redis, std::int64_t max_value_bytes)
    : url_(redis::Url::parse(config.broker_url)),
      broker_calls_(broker_calls),
      redis_(redis),
      max_value_bytes_(max_value_bytes) {}

template <typename Call>
void CacheEndpoints::with_redis(const http::Responder& out, Call call) {
  // The cached probe answers at once while Redis is down, instead of a connect per request.
  if (!redis_.ok()) {
    out.send(unavailable(redis_.last_error()));
    return;
  }
  bool accepted = broker_calls_.try_submit([this, out, call = std::move(call)]() mutable {
    thread_local std::unique_ptr<redis::Connection> connection;
    try {
      if (!connection) connection = std::make_unique<redis::Connection>(url_, kRedisTimeout);
      redis::Reply reply = call(*connection);
      if (reply.kind == redis::Reply::Kind::error) {
        // OOM under maxmemory, a read-only replica: Redis may take the command again later.
        out.send(unavailable(reply.text));
        return;
      }
      out.send(call.answer(reply));
    } catch (const redis::Error& e) {
      connection.reset();
      log::warn("cache call failed", {{"error", e.what()}});
      out.send(unavailable(e.what()));
    }
  });
  if (!accepted) {
    out.send(retry_later(503, "cache_unavailable",
                         "too many Redis requests in progress (BROKER_CALL_QUEUE_SIZE); retry"));
  }
}

namespace {

// A Redis command and how its reply becomes the HTTP answer, run on a pool thread.
template <typename Answer>
struct RedisCall {
  std::vector<std::string> argv;
  Answer answer;
  redis::Reply operator()(redis::Connection& connection) const { return connection.command(argv); }
};
template <typename Answer>
RedisCall(std::vector<std::string>, Answer) -> RedisCall<Answer>;

}  // namespace

void CacheEndpoints::get(const std::string& key, const http::Responder& out) {
  with_redis(out, RedisCall{{"GET", cache_redis_key(key)}, [key](const redis::Reply& reply) {
                              if (reply.kind != redis::Reply::Kind::string) return missing(key);
                              Response response;
                              response.body = reply.text;
                              response.content_type = "application/octet-stream";
                              return response;
                            }});
}

void CacheEndpoints::put(const std::string& key, const http::Request& request,
                         std::int64_t ttl_seconds, bool only_if_absent,
                         const http::Responder& out) {
  if (std::cmp_greater(request.body.size(), max_value_bytes_)) {
    out.send(json_error(413, "value_too_large",
                        "the value is " + std::to_string(request.body.size()) +
                            " bytes; CACHE_MAX_VALUE_BYTES allows 0 to " +
                            std::to_string(max_value_bytes_)));
    return;
  }
  const std::size_t size = request.body.size();
  with_redis(out, RedisCall{cache_set_command(key, request.body, ttl_seconds, only_if_absent),
                            [key, size, ttl_seconds, only_if_absent](const redis::Reply& reply) {
                              if (reply.kind == redis::Reply::Kind::nil) {
                                return json_error(409, "key_exists",
                                                  "cache key '" + key +
                                                      "' already holds a value: POST only creates; "
                                                      "PUT replaces");
                              }
                              auto response =
                                  stored(key, size, ttl_seconds, only_if_absent ? 201 : 200);
                              if (only_if_absent)
                                response.headers.emplace_back("Location", "/cache/" + key);
                              return response;
                            }});
}

void CacheEndpoints::remove(const std::string& key, const http::Responder& out) {
  with_redis(out, RedisCall{{"DEL", cache_redis_key(key)}, [key](const redis::Reply& reply) {
                              if (reply.integer == 0) return missing(key);
                              Response response;
                              response.status = 204;
                              return response;
                            }});
}

}  // namespace october::api
