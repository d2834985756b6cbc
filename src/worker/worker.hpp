#pragma once
// october-worker's engine: fetches Celery messages with late acknowledgement, runs them on a
// fixed set of threads, stores results as Celery does, and restores messages whose worker died.
#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "celery/broker.hpp"
#include "celery/envelope.hpp"
#include "celery/kombu.hpp"
#include "celery/records.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "redis/client.hpp"
#include "service/common_config.hpp"
#include "tasks/registry.hpp"
#include "worker/control.hpp"
#include "worker/events.hpp"
#include "worker/ledger.hpp"
#include "worker/outcome.hpp"

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
  std::string hostname;                     // empty: celery@<host name>
  bool send_events = false;                 // task events (Celery's -E)
  bool mingle = true;                       // revoked ids from the other workers at start
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
  [[nodiscard]] const std::string& hostname() const { return hostname_; }
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
    std::string trace_id;  // of the producer's traceparent; empty when it sent none
  };
  static constexpr std::size_t kCompleteBatch = 256;
  static constexpr auto kRedisTimeout = std::chrono::milliseconds(2000);

  // The fetcher's bookkeeping from one round to the next.
  struct FetchCursor {
    std::vector<std::vector<std::string>> keys;  // per queue, highest priority first
    double restore_every = 60;
    double next_restore = 0;
    double next_gauge = 0;
    double backoff = 0.1;
    std::size_t turn = 0;  // which queue is read first, so none starves the others
  };

  // Fetcher (fetch.cpp): room, housekeeping, a fetch, then decode and schedule each message.
  void fetch_loop();
  // Moves due ETA jobs to the runnable queue; how many messages to take now (0 after waiting
  // for a slot), nullopt once fetching has stopped.
  std::optional<std::size_t> make_room();
  void housekeeping(celery::Broker& broker, FetchCursor& cursor, double now);
  std::vector<celery::Delivery> fetch_some(celery::Broker& broker, FetchCursor& cursor,
                                           std::size_t room);
  void wait_for_work(celery::Broker& broker, const FetchCursor& cursor, double now);
  void back_off(FetchCursor& cursor, const redis::Error& error);
  // The job of a delivery, or nullopt when it is not a Celery envelope (then dead-lettered).
  std::optional<Job> decode(celery::Broker& broker, celery::Delivery delivery);
  void schedule(Job job);
  void release_held(celery::Broker& broker);

  void execute_loop();
  void complete_loop();
  // One message's run: its outcome, settled into what Redis is told; nullopt when the worker is
  // shutting down and the result must not be stored.
  std::optional<Finished> process(const Job& job);
  Outcome run(const Job& job, const tasks::TaskSpec* spec);
  boost::json::value run_body(const tasks::TaskSpec& spec,
                              const std::vector<boost::json::value>& args,
                              const celery::TaskMessage& message,
                              const std::shared_ptr<tasks::Context>& context);
  // The context stop() cancels to interrupt the task running for `tag`.
  std::shared_ptr<tasks::Context> track(const std::string& tag, std::int64_t retries);
  bool abandoned() const;
  // Task events on or off (WORKER_SEND_EVENTS, enable_events): true when that changed.
  bool set_task_events(bool on);
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

  // Remote control and events (control.hpp, events.hpp): the node name, its clock, what it
  // knows of its tasks, and the two threads that speak for it.
  std::string hostname_;
  celery::LamportClock clock_;
  TaskLedger ledger_;
  EventSender events_;
  Commands commands_;
  ControlServer control_;

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
