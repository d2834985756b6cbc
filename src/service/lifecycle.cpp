#include "service/lifecycle.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>

#include "core/log.hpp"
#include "core/process_metrics.hpp"
#include "service/signals.hpp"

namespace october {

ServiceMetrics::ServiceMetrics() {
  metrics::register_process_metrics(registry);
  metrics::register_build_info(registry);
}

Lifecycle::Lifecycle(const CommonConfig& config, std::string program,
                     const MakeService& make_service)
    : program_(std::move(program)),
      service_(
          make_service({.registry = metrics_.registry,
                        .router = router_,
                        .draining = draining_,
                        .open_connections = [this] { return server_.open_connections(); },
                        .requests_in_flight = [this] { return metrics_.observer.in_flight(); }})),
      server_(
          server_options(config),
          [this](http::Request& request, const http::Responder& out) {
            router_.dispatch(request, out);
          },
          metrics_.observer) {}

int Lifecycle::run() {
  try {
    server_.start();
  } catch (const std::exception& e) {
    std::cerr << program_ << ": " << e.what() << "\n";
    return 1;
  }
  service_->on_start(server_);

  std::string signal = wait_for_shutdown_signal();
  draining_ = true;
  boost::json::object fields{{"signal", signal}};
  for (const auto& field : service_->shutdown_fields()) fields.insert(field);
  log::info("shutdown requested", fields);
  Drained drained = service_->on_drain();
  stop_listener(drained.close_within);
  log::info("stopped");
  service_->on_stop();
  if (!drained.clean) {
    // A thread still uses the Service's parts: leave without destroying them.
    log::shutdown();
    std::_Exit(0);
  }
  return 0;
}

void Lifecycle::stop_listener(std::chrono::seconds timeout) {
  server_.stop_accepting();
  server_.close_connections();
  if (!server_.wait_until_closed(std::chrono::steady_clock::now() + timeout)) {
    log::warn("shutdown timeout: closing connections still open",
              {{"open_connections", server_.open_connections()}});
  }
  server_.stop();
}

void keep_serving(std::chrono::seconds period) {
  if (interrupted_within(period)) {
    log::info("second signal: skipping the rest of the drain delay");
  }
}

int run_with_logging(const std::string& log_level, const std::function<int()>& serve) {
  log::init(*log::parse_level(log_level));
  int status = serve();
  log::shutdown();
  return status;
}

}  // namespace october
