#include "service/redis_health.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace october {

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

}  // namespace october
