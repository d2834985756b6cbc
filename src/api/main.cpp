// october-api: the HTTP service. Wires configuration, logging, metrics, readiness, the compute
// pool and the routes together, then serves until SIGTERM.
#include <memory>

#include "api/api.hpp"
#include "api/cache_endpoints.hpp"
#include "api/task_endpoints.hpp"
#include "core/build_info.hpp"
#include "core/duration.hpp"
#include "core/log.hpp"
#include "service/lifecycle.hpp"
#include "service/signals.hpp"

namespace {

using namespace october;

// The api's own parts, in the order they are built; the Lifecycle stops the listener before
// destroying them.
class ApiService final : public Service {
 public:
  ApiService(const api::ApiConfig& config, const SharedParts& shared)
      : config_(config),
        compute_threads_(config.compute_threads == 0
                             ? cores()
                             : static_cast<std::size_t>(config.compute_threads)),
        pool_(compute_threads_, static_cast<std::size_t>(config.compute_queue_size),
              static_cast<int>(config.compute_nice)),
        redis_(redis::Url::parse(config.common.broker_url),
               to_milliseconds(config.common.readiness_interval_seconds)),
        api_(config, {.registry = shared.registry,
                      .pool = pool_,
                      .redis = redis_,
                      .draining = shared.draining,
                      .open_connections = shared.open_connections,
                      .requests_in_flight = shared.requests_in_flight}),
        broker_calls_(static_cast<std::size_t>(config.broker_call_threads),
                      static_cast<std::size_t>(config.broker_call_queue_size)),
        task_endpoints_(config.common, broker_calls_, redis_, shared.registry),
        cache_endpoints_(config.common, broker_calls_, redis_, config.cache_max_value_bytes) {
    api_.add_routes(shared.router, task_endpoints_, cache_endpoints_);
  }

  void on_start(const http::Server& server) override {
    const CommonConfig& common = config_.common;
    log::info("listening", {{"host", common.host},
                            {"port", server.port()},
                            {"version", build_info::version()},
                            {"revision", build_info::revision()},
                            {"io_threads", server_options(common).io_threads},
                            {"compute_threads", compute_threads_},
                            {"broker", redis::Url::parse(common.broker_url).redacted()}});
  }

  [[nodiscard]] boost::json::object shutdown_fields() const override {
    return {{"drain_seconds", config_.common.drain_seconds}};
  }

  Drained on_drain() override {
    keep_serving(std::chrono::seconds(config_.common.drain_seconds));
    return {.close_within = std::chrono::seconds(config_.common.shutdown_timeout_seconds)};
  }

  void on_stop() override {
    pool_.shutdown();
    broker_calls_.shutdown();
  }

 private:
  const api::ApiConfig& config_;
  std::size_t compute_threads_;
  ComputePool pool_;
  RedisHealth redis_;
  api::Api api_;
  ComputePool broker_calls_;
  api::TaskEndpoints task_endpoints_;
  api::CacheEndpoints cache_endpoints_;
};

}  // namespace

int main(int argc, char** argv) {
  block_shutdown_signals();

  api::ApiConfig config;
  config.common.port = 8000;
  config::Options options("october-api",
                          "October's HTTP service: probes, metrics, compute and fault drills.");
  api::add_api_options(options, config);
  if (auto stop = parse_command_line(options, "october-api", argc, argv)) return *stop;
  // Everything that runs threads lives in the Lifecycle, so it has all stopped before the logger.
  return run_with_logging(config.common.log_level, [&config] {
    Lifecycle lifecycle(config.common, "october-api", [&config](const SharedParts& shared) {
      return std::make_unique<ApiService>(config, shared);
    });
    return lifecycle.run();
  });
}
