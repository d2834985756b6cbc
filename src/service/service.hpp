#pragma once
// What october's binaries share around their handlers: the common settings, the Redis
// readiness check and the SIGTERM drain sequence.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "http/observer.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "redis/client.hpp"

namespace october {

struct CommonConfig {
  std::string host = "0.0.0.0";
  std::int64_t port = 8000;
  std::string broker_url = "redis://127.0.0.1:6379/0";
  std::string result_backend = "redis://127.0.0.1:6379/1";
  std::string log_level = "info";
  std::int64_t drain_seconds = 5;
  std::int64_t shutdown_timeout_seconds = 20;
  std::int64_t io_threads = 0;  // 0: one per core
  std::int64_t max_connections = 10000;
  std::int64_t max_header_bytes = 16384;
  std::int64_t max_body_bytes = 1048576;
  double header_timeout_seconds = 10;
  double idle_timeout_seconds = 60;
  double readiness_interval_seconds = 1;
};

void add_common_options(config::Options& options, CommonConfig& config);
http::ServerOptions server_options(const CommonConfig& config);
unsigned cores();

// Keeps a cached answer to "does Redis answer PING?", refreshed by a background thread, so a
// readiness probe never waits on the network.
class RedisHealth {
 public:
  RedisHealth(redis::Url url, std::chrono::milliseconds interval);
  ~RedisHealth();
  RedisHealth(const RedisHealth&) = delete;
  RedisHealth& operator=(const RedisHealth&) = delete;

  [[nodiscard]] bool ok() const { return ok_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::string last_error() const;

 private:
  void loop();

  redis::Url url_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> ok_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string last_error_ = "no Redis check has completed yet";
  std::thread thread_;
};

// The metrics every binary exports (process and build information) and the observer that counts
// its HTTP requests into them. Declare it first in serve(): it must outlive whatever updates it.
struct ServiceMetrics {
  ServiceMetrics();
  metrics::Registry registry;
  http::MetricsObserver observer{registry};
};

// The binary's HTTP listener, configured from `config`, handing every request to `router`.
http::Server make_http_server(const CommonConfig& config, http::Router& router,
                              http::RequestObserver& observer);
// Binds and starts `server`; returns false after a one-line error on stderr when it cannot listen.
bool start_http(http::Server& server, std::string_view program);

// The start of both binaries' main: reads the environment and the flags into `options`.
// Returns the exit status to stop with (0 after --help, 2 after a one-line error naming the
// setting), or nullopt to go on. Call before any thread starts.
std::optional<int> parse_command_line(config::Options& options, std::string_view program, int argc,
                                      const char* const* argv);

// Runs `serve` with logging set up at `log_level`, and stops logging only after `serve` has
// returned (and so every thread it started has stopped).
int run_with_logging(const std::string& log_level, const std::function<int()>& serve);

// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so sigwait in
// run_until_signal is their only receiver. Call first thing in main.
void block_shutdown_signals();

// Blocks until SIGTERM or SIGINT arrives; returns its name.
std::string wait_for_shutdown_signal();
// Sleeps up to `seconds`; returns early (true) when another shutdown signal arrives.
bool interrupted_within(double seconds);
// Stops accepting, closes keep-alive connections after their current response, waits for the
// others until the timeout, then stops the I/O threads.
void stop_http(http::Server& server, std::chrono::seconds timeout);

// The api's shutdown: waits for SIGTERM/SIGINT, sets draining (readiness fails) and keeps
// serving for drain_seconds (a second signal cuts this short), then stop_http.
void run_until_signal(http::Server& server, std::atomic<bool>& draining,
                      const CommonConfig& config);

}  // namespace october
