#include "core/compute_pool.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace october {

ComputePool::ComputePool(std::size_t threads, std::size_t queue_capacity, int nice)
    : capacity_(queue_capacity) {
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this, nice] {
      if (nice > 0) {
        // On Linux a nice value is per thread; raising it needs no privilege.
        auto tid = static_cast<id_t>(syscall(SYS_gettid));
        setpriority(PRIO_PROCESS, tid, nice);
      }
      work();
    });
  }
}

ComputePool::~ComputePool() { shutdown(); }

bool ComputePool::try_submit(std::function<void()> job, std::function<void()> then) {
  {
    std::lock_guard lock(mutex_);
    // Accepted work never exceeds one running job per thread plus the queue's capacity.
    if (stopping_ || busy_ + queue_.size() >= workers_.size() + capacity_) {
      rejections_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back({std::move(job), std::move(then)});
  }
  wake_.notify_one();
  return true;
}

void ComputePool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

std::size_t ComputePool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t ComputePool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

void ComputePool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    auto task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    task.job();
    lock.lock();
    --busy_;
    if (task.then) {
      lock.unlock();
      task.then();
      lock.lock();
    }
  }
}

}  // namespace october
