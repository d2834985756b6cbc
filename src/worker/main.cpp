// october-worker: runs Celery tasks from Redis, with a small HTTP listener for probes and
// metrics. SIGTERM: stop fetching, let running tasks finish within the shutdown timeout,
// requeue the rest, exit 0.
#include <cstdlib>

#include "core/build_info.hpp"
#include "core/log.hpp"
#include "http/probes.hpp"
#include "service/service.hpp"
#include "worker/task_process.hpp"
#include "worker/worker.hpp"

namespace {

// Everything that runs threads lives in here, so it has all stopped before the logger does.
int serve(const october::worker::WorkerConfig& config) {
  using namespace october;
  ServiceMetrics telemetry;
  auto& registry = telemetry.registry;
  worker::Worker worker(config, registry);
  std::atomic<bool> draining{false};

  http::Router router;
  auto route = [&router](const char* path, auto answer) {
    router.add({.method = "GET",
                .path = path,
                .summary = path,
                .handler = [answer](http::Request&, const http::Params&,
                                    const http::Responder& out) { out.send(answer()); }});
  };
  route("/healthz", [] { return http::liveness_response(); });
  auto ready = [&] {
    std::string reason;
    if (draining) {
      reason = "shutting down: not taking tasks";
    } else if (!worker.redis_ok()) {
      reason = "redis unreachable: " + worker.redis_error();
    }
    return http::readiness_response(reason);
  };
  route("/ready", ready);
  route("/readyz", ready);
  route("/metrics", [&registry] { return http::metrics_response(registry); });

  http::Server server = make_http_server(config.common, router, telemetry.observer);
  if (!start_http(server, "october-worker")) return 1;
  worker.start();
  log::info("worker started",
            {{"host", config.common.host},
             {"port", server.port()},
             {"queues", config.queues},
             {"version", build_info::version()},
             {"revision", build_info::revision()},
             {"broker", redis::Url::parse(config.common.broker_url).redacted()},
             {"backend", redis::Url::parse(config.common.result_backend).redacted()}});

  std::string signal = wait_for_shutdown_signal();
  draining = true;
  log::info("shutdown requested",
            {{"signal", signal}, {"grace_seconds", config.common.shutdown_timeout_seconds}});
  worker.stop_fetching();
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(config.common.shutdown_timeout_seconds);
  if (!worker.wait_idle(deadline) && !interrupted_within(0)) {
    log::warn("grace period over with tasks still running; they are requeued");
  }
  bool clean = worker.stop();
  stop_http(server, std::chrono::seconds(2));
  log::info("stopped");
  if (!clean) {
    // A task body is still running on a thread that cannot be stopped: leave without
    // destroying what it uses. Its message was requeued and no result of it will be stored.
    log::shutdown();
    std::_Exit(0);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace october;
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
  return run_with_logging(config.common.log_level, [&config] { return serve(config); });
}
