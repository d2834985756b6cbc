#pragma once
// october-worker's engine: fetches Celery messages with late acknowledgement, runs them on a
// fixed set of threads, stores results as Celery does, and restores messages whose worker died.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "celery/broker.hpp"
#include "celery/records.hpp"
#include "core/metrics.hpp"
#include "service/common_config.hpp"
#include "tasks/registry.hpp"

namespace october::worker {

struct WorkerConfig {
  CommonConfig common;
  std::int64_t concurrency = 0;  // 0: one per core
  std::string queues = "celery";
  std::int64_t prefetch_multiplier = 4;
  double visibility_timeout_seconds = 3600;
  std::int64_t result_expires_seconds = 86400;
  double task_time_limit_seconds = 0;       // 0: none unless the message sets one
  double task_soft_time_limit_seconds = 0;  // 0: none unless the message sets one
};

void add_worker_options(config::Options& options, WorkerConfig& config);

class Worker {
 public:
  Worker(const WorkerConfig& config, metrics::Registry& registry);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Stops taking messages; held (ETA) and not yet started ones go back to their queues.
  void stop_fetching();
  // True once no task is running; false if the deadline passed first.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  // Gives up on running tasks: their messages go back to the queue now (no result is stored
  // for them), and the threads are joined. False when a task body could not be stopped within
  // two seconds and its thread is still running (the caller should exit the process).
  bool stop();

  [[nodiscard]] bool redis_ok() const { return redis_ok_.load(); }
  [[nodiscard]] std::string redis_error() const;

 private:
  struct Job {
    celery::Delivery delivery;
    celery::TaskMessage message;
  };

  struct Running {
    celery::Delivery delivery;
    bool computed;  // finished, waiting for the completer to store and ack it
  };
  struct Finished {
    celery::Broker::Completion completion;
    std::string label;
    celery::TaskState state;
    double seconds = 0;
  };
  static constexpr std::size_t kCompleteBatch = 256;

  void fetch_loop();
  void accept(celery::Broker& broker, celery::Delivery delivery);
  void execute_loop();
  void complete_loop();
  // Runs the task; nullopt when the worker is shutting down and the result must not be stored.
  std::optional<Finished> process(Job& job);
  boost::json::value run_body(const tasks::TaskSpec& spec,
                              const std::vector<boost::json::value>& args,
                              const celery::TaskMessage& message,
                              const std::shared_ptr<tasks::Context>& context);
  void release_held(celery::Broker& broker);
  void set_redis(bool ok, const std::string& error);
  // Retries `action` through Redis outages until it works or the worker gives up.
  template <typename Action>
  bool with_redis(Action&& action);

  WorkerConfig config_;
  std::vector<std::string> queues_;
  redis::Url broker_url_;
  redis::Url backend_url_;
  std::size_t concurrency_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;           // slots freed, running set shrank, stopping
  std::condition_variable runnable_ready_;    // executors: a job to run, or stop
  std::condition_variable completion_ready_;  // completer: results to store, or stop
  std::deque<Job> runnable_;
  std::multimap<double, Job> scheduled_;    // by ETA
  std::map<std::string, Running> running_;  // by delivery tag, until stored and acked
  std::deque<Finished> completions_;
  std::map<std::string, std::shared_ptr<tasks::Context>> contexts_;
  std::size_t capacity_;
  std::size_t taken_ = 0;  // runnable + running + completing: bounded by capacity_
  bool fetching_ = true;
  bool completer_stop_ = false;
  bool abandon_ = false;
  std::string redis_error_ = "no Redis call has completed yet";
  std::atomic<bool> redis_ok_{false};

  metrics::Family<metrics::Counter>& tasks_total_;
  metrics::Family<metrics::Histogram>& durations_;
  metrics::Family<metrics::Gauge>& queue_length_;
  metrics::Counter& restored_total_;
  metrics::Counter& dead_letters_total_;

  std::thread fetcher_;
  std::thread completer_;
  std::vector<std::thread> executors_;
};

}  // namespace october::worker
