#pragma once
// A fixed set of threads for CPU-heavy work with a bounded queue. A full pool refuses new work
// at once instead of queueing without limit, so callers can answer 503 and shed load.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace october {

class ComputePool {
 public:
  // `nice` (0..19) lowers the threads' scheduling priority so that, with every core busy
  // computing, the I/O threads still get the CPU at once and probes stay fast.
  ComputePool(std::size_t threads, std::size_t queue_capacity, int nice = 0);
  ~ComputePool();
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  // False when every thread is busy and the queue holds queue_capacity jobs already. `then`
  // runs on the same thread after the thread is counted free again: answer a client there, so
  // its next request never finds the pool still busy with this one.
  [[nodiscard]] bool try_submit(std::function<void()> job, std::function<void()> then = {});

  // Runs what is queued, then joins the threads. Long jobs may poll stopping() to end early.
  void shutdown();
  [[nodiscard]] const std::atomic<bool>& stop_flag() const { return stopping_; }

  [[nodiscard]] std::size_t threads() const { return workers_.size(); }
  [[nodiscard]] std::size_t queue_capacity() const { return capacity_; }
  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] std::size_t busy() const;
  [[nodiscard]] std::uint64_t rejections() const { return rejections_.load(); }

 private:
  void work();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  struct Task {
    std::function<void()> job;
    std::function<void()> then;
  };
  std::deque<Task> queue_;
  std::size_t busy_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> rejections_{0};
  std::vector<std::thread> workers_;
};

}  // namespace october
