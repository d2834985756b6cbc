#include "service/service.hpp"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "core/log.hpp"
#include "core/process_metrics.hpp"

namespace october {

unsigned cores() { return std::max(1U, std::thread::hardware_concurrency()); }

void add_common_options(config::Options& options, CommonConfig& config) {
  options.add_string("HOST", &config.host, "IPv4 or IPv6 address to listen on",
                     [](const std::string& raw) {
                       std::array<unsigned char, sizeof(in6_addr)> buf{};
                       if (inet_pton(AF_INET, raw.c_str(), buf.data()) != 1 &&
                           inet_pton(AF_INET6, raw.c_str(), buf.data()) != 1) {
                         throw std::invalid_argument("'" + raw + "' is not an IP address");
                       }
                     });
  options.add_int("PORT", &config.port, 1, 65535, "TCP port of the HTTP listener");
  auto check_url = [](const std::string& raw) { redis::Url::parse(raw); };
  options.add_string("CELERY_BROKER_URL", &config.broker_url, "Redis URL of the task broker",
                     check_url);
  options.add_string("CELERY_RESULT_BACKEND", &config.result_backend,
                     "Redis URL of the task result store", check_url);
  options.add_choice("LOG_LEVEL", &config.log_level,
                     {"debug", "info", "warning", "error", "critical"},
                     "least severe level written to stdout");
  options.add_int("SHUTDOWN_DRAIN_SECONDS", &config.drain_seconds, 0, 300,
                  "after SIGTERM, seconds to keep serving with readiness false");
  options.add_int("SHUTDOWN_TIMEOUT_SECONDS", &config.shutdown_timeout_seconds, 0, 600,
                  "then seconds to let in-flight requests finish");
  options.add_int("IO_THREADS", &config.io_threads, 0, 256,
                  "HTTP I/O threads; 0 means one per core");
  options.add_int("MAX_CONNECTIONS", &config.max_connections, 1, 1000000,
                  "open connections before new ones get 503");
  options.add_int("MAX_HEADER_BYTES", &config.max_header_bytes, 1024, 1048576,
                  "request header size limit; larger gets 431");
  options.add_int("MAX_BODY_BYTES", &config.max_body_bytes, 0, 104857600,
                  "request body size limit; larger gets 413");
  options.add_double("HEADER_TIMEOUT_SECONDS", &config.header_timeout_seconds, 0.1, 3600,
                     "time allowed to receive a request once its first byte arrived");
  options.add_double("IDLE_TIMEOUT_SECONDS", &config.idle_timeout_seconds, 0.1, 3600,
                     "keep-alive connection idle time before it is closed");
  options.add_double("READINESS_INTERVAL_SECONDS", &config.readiness_interval_seconds, 0.1, 60,
                     "period of the background Redis PING behind readiness");
}

http::ServerOptions server_options(const CommonConfig& config) {
  auto ms = [](double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
  };
  http::ServerOptions options;
  options.host = config.host;
  options.port = static_cast<std::uint16_t>(config.port);
  options.io_threads =
      config.io_threads == 0 ? cores() : static_cast<std::size_t>(config.io_threads);
  options.max_connections = static_cast<std::size_t>(config.max_connections);
  options.max_header_bytes = static_cast<std::size_t>(config.max_header_bytes);
  options.max_body_bytes = static_cast<std::size_t>(config.max_body_bytes);
  options.header_timeout = ms(config.header_timeout_seconds);
  options.idle_timeout = ms(config.idle_timeout_seconds);
  return options;
}

ServiceMetrics::ServiceMetrics() {
  metrics::register_process_metrics(registry);
  metrics::register_build_info(registry);
}

http::Server make_http_server(const CommonConfig& config, http::Router& router,
                              http::RequestObserver& observer) {
  return http::Server(
      server_options(config),
      [&router](http::Request& request, const http::Responder& out) {
        router.dispatch(request, out);
      },
      observer);
}

bool start_http(http::Server& server, std::string_view program) {
  try {
    server.start();
    return true;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return false;
  }
}

RedisHealth::RedisHealth(redis::Url url, std::chrono::milliseconds interval)
    : url_(std::move(url)), interval_(interval), thread_([this] { loop(); }) {}

RedisHealth::~RedisHealth() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string RedisHealth::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void RedisHealth::loop() {
  // The timeout stays below the interval so a dead server is noticed within one period.
  auto timeout =
      std::max(std::chrono::milliseconds(50), std::min(interval_, std::chrono::milliseconds(1000)));
  redis::Connection connection(url_, timeout);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    auto failure = connection.ping();
    lock.lock();
    bool was_ok = ok_;
    ok_ = !failure;
    if (failure) last_error_ = *failure;
    if (was_ok != ok_) {
      if (ok_) {
        log::info("redis reachable", {{"url", url_.redacted()}});
      } else {
        log::warn("redis unreachable", {{"url", url_.redacted()}, {"error", last_error_}});
      }
    }
    wake_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

std::optional<int> parse_command_line(config::Options& options, std::string_view program, int argc,
                                      const char* const* argv) {
  try {
    auto getenv = [](const char* name) {
      return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): no thread runs yet
    };
    if (!options.parse(argc, argv, getenv)) {
      std::cout << options.help_text();
      return 0;
    }
  } catch (const config::ConfigError& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  }
  return std::nullopt;
}

int run_with_logging(const std::string& log_level, const std::function<int()>& serve) {
  log::init(*log::parse_level(log_level));
  int status = serve();
  log::shutdown();
  return status;
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

namespace {
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

std::string wait_for_shutdown_signal() {
  sigset_t set = shutdown_signals();
  int signal = 0;
  sigwait(&set, &signal);
  return signal == SIGTERM ? "SIGTERM" : "SIGINT";
}

bool interrupted_within(double seconds) {
  if (seconds <= 0) return false;
  sigset_t set = shutdown_signals();
  auto whole = static_cast<time_t>(seconds);
  timespec wait{whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
  return sigtimedwait(&set, nullptr, &wait) > 0;
}

void stop_http(http::Server& server, std::chrono::seconds timeout) {
  server.stop_accepting();
  server.close_connections();
  if (!server.wait_until_closed(std::chrono::steady_clock::now() + timeout)) {
    log::warn("shutdown timeout: closing connections still open",
              {{"open_connections", server.open_connections()}});
  }
  server.stop();
}

void run_until_signal(http::Server& server, std::atomic<bool>& draining,
                      const CommonConfig& config) {
  std::string signal = wait_for_shutdown_signal();
  draining = true;
  log::info("shutdown requested", {{"signal", signal}, {"drain_seconds", config.drain_seconds}});
  // Kubernetes keeps routing to the pod until it sees readiness fail: keep serving meanwhile.
  if (interrupted_within(static_cast<double>(config.drain_seconds))) {
    log::info("second signal: skipping the rest of the drain delay");
  }
  stop_http(server, std::chrono::seconds(config.shutdown_timeout_seconds));
  log::info("stopped");
}

}  // namespace october
