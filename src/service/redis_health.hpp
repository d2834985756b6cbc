#pragma once
// Readiness needs to know whether Redis answers, without making a probe wait on the network.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "redis/client.hpp"

namespace october {

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

}  // namespace october
