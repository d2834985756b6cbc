#pragma once
// october-api's endpoints: the route table and the state behind the drills.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "core/compute_pool.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"
#include "service/service.hpp"

namespace october::api {

struct ApiConfig {
  CommonConfig common;
  std::int64_t compute_threads = 0;  // 0: one per core
  std::int64_t compute_queue_size = 64;
  std::int64_t compute_nice = 10;
  std::int64_t memory_max_mb = 1024;
  bool fail_healthz = false;
};

void add_api_options(config::Options& options, ApiConfig& config);

// What the handlers read from the rest of the process.
struct Runtime {
  metrics::Registry& registry;
  ComputePool& pool;
  const RedisHealth& redis;
  const std::atomic<bool>& draining;
  std::function<std::size_t()> open_connections;
  std::function<double()> requests_in_flight;
};

class Api {
 public:
  Api(const ApiConfig& config, Runtime runtime);
  void add_routes(http::Router& router);

 private:
  using Params = http::Params;
  using Responder = http::Responder;

  void healthz(const Responder& out) const;
  void ready(const Responder& out) const;
  [[nodiscard]] bool is_ready() const;
  void root(const Responder& out) const;
  void memory_allocate(const Params& params, const Responder& out);
  // Runs `job` on the compute pool and sends what it returns; 503 at once when the pool is full.
  void offload(const Responder& out, std::function<http::Response()> job);

  ApiConfig config_;
  Runtime runtime_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> fault_injection_{false};
  std::atomic<bool> ready_enabled_{true};
  std::atomic<std::int64_t> memory_held_bytes_{0};
};

}  // namespace october::api
