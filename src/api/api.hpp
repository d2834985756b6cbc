#pragma once
// october-api's endpoints: the state behind them and the route table, one group per file.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/random_faults.hpp"
#include "core/compute_pool.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "service/common_config.hpp"
#include "service/redis_health.hpp"

namespace october::configdir {
class Watcher;
}  // namespace october::configdir

namespace october::api {

struct ApiConfig {
  CommonConfig common;
  std::int64_t compute_threads = 0;  // 0: one per core
  std::int64_t compute_queue_size = 64;
  std::int64_t compute_nice = 10;
  std::int64_t memory_max_mb = 1024;
  bool fail_healthz = false;
  // POST /tasks and GET /tasks/{id} wait on Redis: their own threads, away from compute.
  std::int64_t broker_call_threads = 4;
  std::int64_t broker_call_queue_size = 1024;
  std::int64_t echo_max_bytes = 1048576;  // POST /echo; MAX_BODY_BYTES bounds it as well
  // Start with liveness (/healthz) or readiness switched off, until POST /healthz/enable or
  // POST /ready/enable.
  bool start_unhealthy = false;
  bool start_unready = false;
  bool enable_panic = false;        // GET /panic exits the process
  std::string random_delay;         // "MIN-MAX" ms added to app requests; empty: none
  double random_error_percent = 0;  // share of app requests answered 500
  // /cache/{key}, on the broker's Redis.
  std::int64_t cache_max_value_bytes = 65536;
  // /store: empty data_dir leaves the routes answering 503.
  std::string data_dir;
  std::int64_t store_max_bytes = 1048576;
  std::int64_t store_max_files = 1000;
  // /token: empty jwt_secret leaves the routes answering 503.
  std::string jwt_secret;
  std::int64_t jwt_ttl_seconds = 3600;
  // The browser page of GET /: its background and a banner, so a canary shows which one answers.
  std::string ui_color = "#2f5d8a";
  std::string ui_message;
  // A mounted ConfigMap served by GET /configs; empty: none.
  std::string config_dir;
  std::string path_prefix;  // every route also served under it; empty: none
  // GET /ws/echo: the largest message echoed, and the idle time before ping and close.
  std::int64_t ws_max_message_bytes = 65536;
  double ws_idle_timeout_seconds = 60;
  // Where POST /api/echo forwards: comma-separated http:// URLs, and how long each may take.
  std::string backend_urls;
  double backend_timeout = 2;
};

// At most this many BACKEND_URLS: each request to /api/echo opens one connection per entry.
inline constexpr std::size_t kMaxBackends = 16;
// BACKEND_URLS split and checked; throws std::invalid_argument naming the bad entry.
std::vector<http::HttpUrl> parse_backend_urls(const std::string& text);

// POST /api/echo's peers and the client that calls them (null without peers).
struct Backends {
  std::vector<http::HttpUrl> urls;
  std::chrono::steady_clock::duration timeout{};
  std::unique_ptr<http::Client> client;
};

void add_api_options(config::Options& options, ApiConfig& config);
// CACHE_MAX_VALUE_BYTES, DATA_DIR, STORE_MAX_*, JWT_*: the settings of /cache, /store, /token.
void add_storage_options(config::Options& options, ApiConfig& config);

// What the handlers read from the rest of the process.
struct Runtime {
  metrics::Registry& registry;
  ComputePool& pool;
  const RedisHealth& redis;
  const std::atomic<bool>& draining;
  std::function<std::size_t()> open_connections;
  std::function<double()> requests_in_flight;
};

// What the route groups share: set at start, then read and switched by the handlers.
struct ApiState {
  ApiConfig config;
  Runtime runtime;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // The drill switches (POST /ready/{enable,disable}, /fault/{enable,disable},
  // /healthz/{enable,disable}, /fault/random).
  std::atomic<bool> ready_enabled{true};
  std::atomic<bool> fault_injection{false};
  std::atomic<bool> healthz_enabled{true};
  RandomFaults random_faults;
  std::atomic<std::int64_t> memory_held_bytes{0};  // by /memory/allocate, now

  // Why /ready answers 503, or empty when it answers 200.
  [[nodiscard]] std::string not_ready_reason() const;
  // What october_ready reports and GET / says.
  [[nodiscard]] bool is_ready() const;
  // Why /healthz answers 500, or empty when it answers 200.
  [[nodiscard]] std::string liveness_failure() const;
};

class TaskEndpoints;
class CacheEndpoints;

class Api {
 public:
  // Starts watching CONFIG_DIR when it is set.
  Api(const ApiConfig& config, Runtime runtime);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  // Registers every route group (src/api/routes_*.cpp), then GET /openapi.json documenting them.
  void add_routes(http::Router& served, TaskEndpoints& tasks, CacheEndpoints& cache);

 private:
  // Gauges of the fault switches and random-fault settings, counters of injected faults.
  void add_fault_metrics();

  ApiState state_;
  std::unique_ptr<configdir::Watcher> configs_;
  Backends backends_;
};

}  // namespace october::api
