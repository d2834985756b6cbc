#pragma once
// POST /tasks and GET /tasks/{id}: submit Celery tasks and read their results. Redis calls
// block, so they run on their own small pool, never on the I/O threads.
#include <string>

#include "core/compute_pool.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"
#include "http/types.hpp"
#include "redis/client.hpp"
#include "service/common_config.hpp"
#include "service/redis_health.hpp"

namespace october::api {

class TaskEndpoints {
 public:
  TaskEndpoints(const CommonConfig& config, ComputePool& broker_calls, const RedisHealth& redis,
                metrics::Registry& registry);
  // POST /tasks: validates the body, then publishes it; GET /tasks/{id}: reads the result.
  void submit(const http::Request& request, const http::Responder& out);
  void status(const std::string& task_id, const http::Responder& out);

 private:
  // Runs `call` on the broker pool with this thread's Broker; 503 when Redis fails.
  template <typename Call>
  void with_broker(const http::Responder& out, Call call);

  redis::Url broker_url_;
  redis::Url backend_url_;
  ComputePool& broker_calls_;
  const RedisHealth& redis_;
  metrics::Family<metrics::Counter>& submitted_;
};

}  // namespace october::api
