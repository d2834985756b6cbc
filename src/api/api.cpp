#include "api/api.hpp"

#include <memory>

#include "api/routes.hpp"
#include "core/build_info.hpp"
#include "http/openapi.hpp"

namespace october::api {

void add_api_options(config::Options& options, ApiConfig& config) {
  add_common_options(options, config.common);
  options.add_int("COMPUTE_THREADS", &config.compute_threads, 0, 256,
                  "threads for CPU-heavy handlers; 0 means one per core");
  options.add_int("COMPUTE_QUEUE_SIZE", &config.compute_queue_size, 0, 100000,
                  "CPU-heavy requests waiting beyond the running ones before 503");
  options.add_int("COMPUTE_NICE", &config.compute_nice, 0, 19,
                  "scheduling niceness of the compute threads, so I/O threads win the CPU");
  options.add_int("MEMORY_MAX_MB", &config.memory_max_mb, 1, 65536,
                  "ceiling for /memory/allocate, per request and in total");
  options.add_bool("FAIL_HEALTHZ", &config.fail_healthz,
                   "make /healthz answer 500 (rollback drills)");
  options.add_int("BROKER_CALL_THREADS", &config.broker_call_threads, 1, 256,
                  "threads for the Redis calls of POST /tasks and GET /tasks/{id}");
  options.add_int("BROKER_CALL_QUEUE_SIZE", &config.broker_call_queue_size, 0, 100000,
                  "task requests waiting beyond the running ones before 503");
}

Api::Api(const ApiConfig& config, Runtime runtime)
    : state_{.config = config, .runtime = std::move(runtime)} {
  auto& registry = state_.runtime.registry;
  registry.callback("october_ready", "1 when /ready answers 200.", metrics::Type::gauge,
                    [this] { return state_.is_ready() ? 1.0 : 0.0; });
  registry.callback("http_connections_open", "Open client connections.", metrics::Type::gauge,
                    [this] { return static_cast<double>(state_.runtime.open_connections()); });
  auto& pool = state_.runtime.pool;
  registry.callback("october_compute_workers", "Threads of the compute pool.", metrics::Type::gauge,
                    [&pool] { return static_cast<double>(pool.threads()); });
  registry.callback("october_compute_busy", "Compute threads running a job now.",
                    metrics::Type::gauge, [&pool] { return static_cast<double>(pool.busy()); });
  registry.callback("october_compute_queue_depth", "Compute jobs waiting for a thread.",
                    metrics::Type::gauge, [&pool] { return static_cast<double>(pool.queued()); });
  registry.callback("october_compute_queue_capacity", "Compute jobs that may wait.",
                    metrics::Type::gauge,
                    [&pool] { return static_cast<double>(pool.queue_capacity()); });
  registry.callback("october_compute_rejections_total",
                    "Requests refused with 503 because the compute pool was full.",
                    metrics::Type::counter,
                    [&pool] { return static_cast<double>(pool.rejections()); });
  registry.callback("october_memory_allocated_bytes", "Bytes held by /memory/allocate now.",
                    metrics::Type::gauge,
                    [this] { return static_cast<double>(state_.memory_held_bytes.load()); });
}

std::string ApiState::not_ready_reason() const {
  if (runtime.draining) return "shutting down: draining connections";
  if (!ready_enabled) return "readiness disabled by POST /ready/disable";
  if (!runtime.redis.ok()) return "redis unreachable: " + runtime.redis.last_error();
  return {};
}

bool ApiState::is_ready() const { return not_ready_reason().empty(); }

void Api::add_routes(http::Router& router, TaskEndpoints& tasks) {
  register_tasks(router, tasks);
  register_probes(router, state_);
  register_drills(router, state_);
  register_compute(router, state_.runtime.pool);
  register_memory(router, state_);
  // Generated once, after every route is known.
  auto document = std::make_shared<std::string>();
  router.add(
      {.method = "GET",
       .path = "/openapi.json",
       .summary = "This document",
       .handler = [document](http::Request&, const http::Params&, const http::Responder& out) {
         http::Response response;
         response.body = *document;
         out.send(std::move(response));
       }});
  *document = http::openapi_document(router, "october-api", build_info::version());
}

}  // namespace october::api
