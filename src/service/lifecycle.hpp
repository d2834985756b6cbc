#pragma once
// The one start, drain and stop sequence of both binaries. A Lifecycle owns the parts every
// binary has (its metrics, the drain flag, the router, the HTTP listener) and the binary's own
// parts (a Service) between them, so member order alone makes the listener stop before what its
// handlers use is destroyed, and the metrics outlive everything that updates them.
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "http/observer.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "service/common_config.hpp"

namespace october {

// What a Service's parts are built from: the Lifecycle's shared parts.
struct SharedParts {
  metrics::Registry& registry;
  http::Router& router;
  // True from the shutdown signal on: readiness must fail.
  const std::atomic<bool>& draining;
  // The listener's counts. The listener is built after the Service: call them only from
  // handlers and metrics callbacks, which run once it serves.
  std::function<std::size_t()> open_connections;
  std::function<double()> requests_in_flight;
};

// How the listener stops once a Service has drained.
struct Drained {
  // How long in-flight requests get to finish before their connections are closed.
  std::chrono::seconds close_within;
  // False when a thread that cannot be stopped still uses the Service's parts: the process then
  // exits with 0 without destroying them.
  bool clean = true;
};

// A binary's own parts and its steps of the sequence. Its constructor adds its routes.
class Service {
 public:
  Service() = default;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  Service(Service&&) = delete;
  Service& operator=(Service&&) = delete;
  virtual ~Service() = default;

  // The listener serves: start background work and write the start-up log line.
  virtual void on_start(const http::Server& server) = 0;
  // The "shutdown requested" line's fields besides the signal.
  [[nodiscard]] virtual boost::json::object shutdown_fields() const = 0;
  // Readiness fails from here on while the listener still serves; returns once it may stop.
  virtual Drained on_drain() = 0;
  // The listener has stopped (the Service's parts are destroyed later, after the listener's).
  virtual void on_stop() {}
};

// The metrics every binary exports (process and build information) and the observer that counts
// its HTTP requests into them.
struct ServiceMetrics {
  ServiceMetrics();
  metrics::Registry registry;
  http::MetricsObserver observer{registry};
};

class Lifecycle {
 public:
  using MakeService = std::function<std::unique_ptr<Service>(const SharedParts&)>;

  // Builds the shared parts, then the Service from them, then the listener (not started yet).
  Lifecycle(const CommonConfig& config, std::string program, const MakeService& make_service);
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;
  Lifecycle(Lifecycle&&) = delete;
  Lifecycle& operator=(Lifecycle&&) = delete;
  ~Lifecycle() = default;

  // Starts the listener, then the Service; on SIGTERM or SIGINT sets draining, logs "shutdown
  // requested", lets the Service drain, stops the listener and logs "stopped". Returns the exit
  // status: 1 after a one-line error on stderr when the listener cannot start, else 0.
  int run();

 private:
  // Stops accepting, closes keep-alive connections after their current response, waits for the
  // others up to `timeout`, then stops the I/O threads.
  void stop_listener(std::chrono::seconds timeout);

  std::string program_;
  ServiceMetrics metrics_;
  std::atomic<bool> draining_{false};
  http::Router router_;
  std::unique_ptr<Service> service_;
  http::Server server_;
};

// A drain step: keeps the listener serving for `period` with readiness false, because
// Kubernetes keeps routing to a pod until it has seen readiness fail. A second signal cuts it
// short.
void keep_serving(std::chrono::seconds period);

// Runs `serve` with logging set up at `log_level`, and stops logging only after `serve` has
// returned (and so every thread it started has stopped).
int run_with_logging(const std::string& log_level, const std::function<int()>& serve);

}  // namespace october
