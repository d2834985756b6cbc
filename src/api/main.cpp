// october-api: the HTTP service. Wires configuration, logging, metrics, readiness, the compute
// pool and the routes together, then serves until SIGTERM.
#include "api/api.hpp"
#include "api/task_endpoints.hpp"
#include "core/build_info.hpp"
#include "core/log.hpp"
#include "service/service.hpp"

namespace {

// Everything that runs threads lives in here, so it has all stopped before the logger does.
int serve(const october::api::ApiConfig& config) {
  using namespace october;

  ServiceMetrics telemetry;
  auto& registry = telemetry.registry;

  auto compute_threads =
      config.compute_threads == 0 ? cores() : static_cast<std::size_t>(config.compute_threads);
  ComputePool pool(compute_threads, static_cast<std::size_t>(config.compute_queue_size),
                   static_cast<int>(config.compute_nice));
  RedisHealth redis(redis::Url::parse(config.common.broker_url),
                    std::chrono::milliseconds(static_cast<std::int64_t>(
                        config.common.readiness_interval_seconds * 1000)));
  std::atomic<bool> draining{false};

  http::Router router;
  http::Server* server_ref = nullptr;
  api::Api api(
      config,
      {.registry = registry,
       .pool = pool,
       .redis = redis,
       .draining = draining,
       .open_connections =
           [&server_ref] { return server_ref != nullptr ? server_ref->open_connections() : 0; },
       .requests_in_flight = [&telemetry] { return telemetry.observer.in_flight(); }});
  // Task submission waits on Redis, so it has threads of its own, away from the compute pool.
  ComputePool broker_pool(4, 1024);
  api::TaskEndpoints task_endpoints(config.common, broker_pool, redis, registry);
  api.add_routes(router, task_endpoints);

  http::Server server = make_http_server(config.common, router, telemetry.observer);
  server_ref = &server;
  if (!start_http(server, "october-api")) return 1;
  log::info("listening", {{"host", config.common.host},
                          {"port", server.port()},
                          {"version", build_info::version()},
                          {"revision", build_info::revision()},
                          {"io_threads", server_options(config.common).io_threads},
                          {"compute_threads", compute_threads},
                          {"broker", redis::Url::parse(config.common.broker_url).redacted()}});

  run_until_signal(server, draining, config.common);
  pool.shutdown();
  broker_pool.shutdown();
  server_ref = nullptr;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace october;
  block_shutdown_signals();

  api::ApiConfig config;
  config.common.port = 8000;
  config::Options options("october-api",
                          "October's HTTP service: probes, metrics, compute and fault drills.");
  api::add_api_options(options, config);
  if (auto stop = parse_command_line(options, "october-api", argc, argv)) return *stop;
  return run_with_logging(config.common.log_level, [&config] { return serve(config); });
}
