// october-worker: runs Celery tasks from Redis, with a small HTTP listener for probes and
// metrics. SIGTERM: stop fetching, let running tasks finish within the shutdown timeout,
// requeue the rest, exit 0.
#include <memory>

#include "core/build_info.hpp"
#include "core/log.hpp"
#include "http/probes.hpp"
#include "service/lifecycle.hpp"
#include "service/signals.hpp"
#include "worker/task_process.hpp"
#include "worker/worker.hpp"

namespace {

using namespace october;

// Running tasks get the shutdown timeout; the listener only has probe and metrics requests
// left to finish by then.
constexpr std::chrono::seconds kProbeCloseTime{2};

class WorkerService final : public Service {
 public:
  WorkerService(const worker::WorkerConfig& config, const SharedParts& shared)
      : config_(config), worker_(config, shared.registry) {
    http::add_probe_routes(
        shared.router, {.registry = shared.registry,
                        .not_ready_reason = [this, &draining = shared.draining]() -> std::string {
                          if (draining) return "shutting down: not taking tasks";
                          if (!worker_.redis_ok()) {
                            return "redis unreachable: " + worker_.redis_error();
                          }
                          return {};
                        }});
  }

  void on_start(const http::Server& server) override {
    worker_.start();
    const CommonConfig& common = config_.common;
    log::info("worker started", {{"host", common.host},
                                 {"hostname", worker_.hostname()},
                                 {"port", server.port()},
                                 {"queues", config_.queues},
                                 {"version", build_info::version()},
                                 {"revision", build_info::revision()},
                                 {"broker", redis::Url::parse(common.broker_url).redacted()},
                                 {"backend", redis::Url::parse(common.result_backend).redacted()}});
  }

  [[nodiscard]] boost::json::object shutdown_fields() const override {
    return {{"grace_seconds", config_.common.shutdown_timeout_seconds}};
  }

  Drained on_drain() override {
    worker_.stop_fetching();
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::seconds(config_.common.shutdown_timeout_seconds);
    if (!worker_.wait_idle(deadline)) {
      log::warn("grace period over with tasks still running; they are requeued");
    }
    // A task body still running on a thread that cannot be stopped keeps using the worker: its
    // message was requeued and no result of it will be stored.
    return {.close_within = kProbeCloseTime, .clean = worker_.stop()};
  }

 private:
  const worker::WorkerConfig& config_;
  worker::Worker worker_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == worker::kRunTaskFlag) {
    return worker::run_task_child();  // a time-limited task body, started by a worker
  }
  block_shutdown_signals();

  worker::WorkerConfig config;
  config.common.port = 8001;
  config::Options options("october-worker",
                          "October's background-task worker, wire-compatible with Celery 5.");
  worker::add_worker_options(options, config);
  if (auto stop = parse_command_line(options, "october-worker", argc, argv)) return *stop;
  // Everything that runs threads lives in the Lifecycle, so it has all stopped before the logger.
  return run_with_logging(config.common.log_level, [&config] {
    Lifecycle lifecycle(config.common, "october-worker", [&config](const SharedParts& shared) {
      return std::make_unique<WorkerService>(config, shared);
    });
    return lifecycle.run();
  });
}
