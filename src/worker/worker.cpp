#include "worker/worker.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "core/log.hpp"
#include "core/parse.hpp"
#include "http/trace_context.hpp"
#include "worker/mingle.hpp"
#include "worker/task_process.hpp"

namespace october::worker {

namespace json = boost::json;
using celery::Broker;
using celery::Delivery;

void add_worker_options(config::Options& options, WorkerConfig& config) {
  add_common_options(options, config.common);
  options.add_int("CONCURRENCY", &config.concurrency, 0, 1024,
                  "tasks run at once (threads); 0 means one per core");
  options.add_string("QUEUES", &config.queues, "comma-separated queues to consume",
                     [](const std::string& raw) { celery::parse_queues(raw); });
  options.add_double("VISIBILITY_TIMEOUT_SECONDS", &config.visibility_timeout_seconds, 1, 604800,
                     "unacked messages older than this are restored to their queue");
  options.add_int(
      "PREFETCH_MULTIPLIER", &config.prefetch_multiplier, 1, 1000,
      "messages taken ahead per concurrency slot (Celery's worker_prefetch_multiplier)");
  options.add_int("RESULT_EXPIRES_SECONDS", &config.result_expires_seconds, 1, 31536000,
                  "lifetime of stored task results");
  options.add_double("TASK_TIME_LIMIT_SECONDS", &config.task_time_limit_seconds, 0, 86400,
                     "default hard time limit per task; 0 means none");
  options.add_double("TASK_SOFT_TIME_LIMIT_SECONDS", &config.task_soft_time_limit_seconds, 0, 86400,
                     "default soft time limit per task; 0 means none");
  add_control_options(options, config.hostname, config.send_events, config.mingle);
}

Worker::Worker(const WorkerConfig& config, metrics::Registry& registry)
    : config_(config),
      queues_(celery::parse_queues(config.queues)),
      broker_url_(redis::Url::parse(config.common.broker_url)),
      backend_url_(redis::Url::parse(config.common.result_backend)),
      concurrency_(config.concurrency == 0 ? cores()
                                           : static_cast<std::size_t>(config.concurrency)),
      capacity_(concurrency_ * static_cast<std::size_t>(config.prefetch_multiplier)),
      hostname_(node_name(config.hostname)),
      ledger_(hostname_, getpid()),
      events_(broker_url_, hostname_, clock_,
              [this] {
                return WorkerLoad{ledger_.active_count(), ledger_.processed()};
              }),
      commands_(ledger_,
                {.hostname = hostname_,
                 .pid = getpid(),
                 .concurrency = static_cast<std::int64_t>(concurrency_),
                 .prefetch_count = static_cast<std::int64_t>(capacity_),
                 .queues = queues_,
                 .broker = broker_url_,
                 .soft_time_limit = config.task_soft_time_limit_seconds,
                 .hard_time_limit = config.task_time_limit_seconds},
                clock_,
                {.set_task_events = [this](bool on) { return set_task_events(on); },
                 .send_heartbeat = [this] { events_.send("worker-heartbeat", {}); },
                 .shutdown = [] { kill(getpid(), SIGTERM); }}),
      control_(commands_, clock_),
      tasks_total_(registry.counter("celery_tasks_total", "Tasks finished, by task and state.",
                                    {"task", "state"})),
      durations_(registry.histogram("celery_task_duration_seconds", "Task run time.", {"task"},
                                    {.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300})),
      queue_length_(
          registry.gauge("celery_queue_length", "Messages waiting, by queue.", {"queue"})),
      restored_total_(registry
                          .counter("celery_messages_restored_total",
                                   "Unacked messages restored after the visibility timeout.")
                          .get()),
      dead_letters_total_(registry
                              .counter("celery_messages_dead_lettered_total",
                                       "Malformed messages moved to <queue>.dead.")
                              .get()) {
  registry.callback("celery_tasks_in_flight", "Tasks taken and not yet finished.",
                    metrics::Type::gauge, [this] {
                      std::lock_guard lock(mutex_);
                      return static_cast<double>(taken_);
                    });
  registry.callback("celery_tasks_scheduled", "ETA/countdown tasks held until due.",
                    metrics::Type::gauge, [this] {
                      std::lock_guard lock(mutex_);
                      return static_cast<double>(scheduled_.size());
                    });
  registry.callback("celery_worker_concurrency", "Tasks this worker runs at once.",
                    metrics::Type::gauge, [this] { return static_cast<double>(concurrency_); });
  for (const auto& queue : queues_) queue_length_.labels({queue}).set(0);
  if (config.send_events) set_task_events(true);
}

bool Worker::set_task_events(bool on) {
  if (!on) return ledger_.set_task_events({});
  return ledger_.set_task_events(
      [this](std::string_view type, const json::object& fields) { events_.send(type, fields); });
}

Worker::~Worker() {
  if (fetcher_.joinable() || !executors_.empty() || completer_.joinable()) stop();
}

void Worker::start() {
  events_.start();
  // Before the first fetch, so a task revoked while this worker was away is not run.
  if (config_.mingle) mingle(commands_, clock_, std::chrono::seconds(1));
  control_.start();
  completer_ = std::thread([this] { complete_loop(); });
  fetcher_ = std::thread([this] { fetch_loop(); });
  for (std::size_t i = 0; i < concurrency_; ++i)
    executors_.emplace_back([this] { execute_loop(); });
}

std::string Worker::redis_error() const {
  std::lock_guard lock(mutex_);
  return redis_error_;
}

void Worker::set_redis(bool ok, const std::string& error) {
  // Every fetch reports success: that common case must stay a single atomic load.
  if (ok && redis_ok_.load()) return;
  bool was = false;
  {
    // Under the lock with the flag, so /ready never pairs "down" with a stale or empty error; the
    // error is refreshed on every failure, since the cause can change while Redis stays down.
    std::lock_guard lock(mutex_);
    if (!ok) redis_error_ = error.empty() ? "unknown Redis error" : error;
    was = redis_ok_.exchange(ok);
  }
  if (was == ok) return;
  if (ok) {
    log::info("redis reachable", {{"broker", broker_url_.redacted()}});
  } else {
    log::warn("redis unreachable; retrying with backoff", {{"error", error}});
  }
}

template <typename Action>
bool Worker::with_redis(Action&& action) {
  double backoff = 0.1;
  for (;;) {
    try {
      action();
      set_redis(true, "");
      return true;
    } catch (const redis::Error& e) {
      set_redis(false, e.what());
      std::unique_lock lock(mutex_);
      if (changed_.wait_for(lock, std::chrono::duration<double>(backoff),
                            [this] { return abandon_; })) {
        return false;
      }
      backoff = std::min(backoff * 2, 5.0);
    }
  }
}

void Worker::execute_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      runnable_ready_.wait(lock, [this] { return !runnable_.empty() || !fetching_; });
      if (!fetching_) return;  // what is still queued is requeued by the fetcher
      job = std::move(runnable_.front());
      runnable_.pop_front();
      running_.emplace(job.delivery.tag, Running{job.delivery, false});
    }
    auto finished = process(job);
    std::lock_guard lock(mutex_);
    if (finished) {
      // The completer stores and acks it, then releases its slot.
      running_.at(job.delivery.tag).computed = true;
      completions_.push_back(std::move(*finished));
      completion_ready_.notify_one();
    } else {
      running_.erase(job.delivery.tag);
      contexts_.erase(job.delivery.tag);
      --taken_;
      changed_.notify_all();
    }
  }
}

void Worker::complete_loop() {
  Broker broker(broker_url_, backend_url_, kRedisTimeout);
  for (;;) {
    std::vector<Finished> batch;
    {
      std::unique_lock lock(mutex_);
      completion_ready_.wait(lock, [this] { return !completions_.empty() || completer_stop_; });
      if (completions_.empty()) return;
      // Everything finished meanwhile goes in one script: a round trip per batch, not per task.
      while (!completions_.empty() && batch.size() < kCompleteBatch) {
        batch.push_back(std::move(completions_.front()));
        completions_.pop_front();
      }
    }
    std::vector<Broker::Completion> writes;
    writes.reserve(batch.size());
    for (const auto& done : batch) writes.push_back(done.completion);
    bool stored = with_redis([&] { broker.complete(writes, config_.result_expires_seconds); });
    for (const auto& done : batch) {
      if (stored) {
        const std::string state(celery::state_name(done.state));
        tasks_total_.labels({done.label, state}).inc();
        durations_.labels({done.label}).observe(done.seconds);
        if (log::enabled(log::Level::info)) {
          json::object fields{{"task", done.label},
                              {"id", done.completion.task_id},
                              {"state", state},
                              {"duration_ms", done.seconds * 1000}};
          if (!done.trace_id.empty()) fields["trace_id"] = done.trace_id;
          log::info("task finished", fields);
        }
      }
      std::lock_guard lock(mutex_);
      running_.erase(done.completion.tag);
      contexts_.erase(done.completion.tag);
      --taken_;
    }
    changed_.notify_all();
  }
}

json::value Worker::run_body(const tasks::TaskSpec& spec, const std::vector<json::value>& args,
                             const celery::TaskMessage& message,
                             const std::shared_ptr<tasks::Context>& context) {
  const double hard = message.hard_time_limit.value_or(config_.task_time_limit_seconds);
  const double soft = message.soft_time_limit.value_or(config_.task_soft_time_limit_seconds);
  if (hard <= 0 && soft <= 0) return spec.run(args, *context);
  // With a limit the body runs in a child process: the hard limit can then really stop it.
  return run_in_child(spec, args, message.retries, soft, hard, context.get());
}

std::optional<Worker::Finished> Worker::process(const Job& job) {
  const auto started = std::chrono::steady_clock::now();
  const tasks::TaskSpec* spec = tasks::find(job.message.task);
  Outcome outcome = run(job, spec);
  if (abandoned()) {  // shutting down: the message was requeued
    ledger_.forget(job.delivery.tag);
    return std::nullopt;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  outcome = ledger_.finished(job.delivery.tag, job.message, std::move(outcome), seconds);
  Finished finished{settle(job.message, job.delivery.tag, outcome, celery::now_unix()),
                    spec != nullptr ? spec->name : "unknown", outcome.state};
  finished.seconds = seconds;
  // The api's access line and this one share the trace id: one trace across the queue.
  if (auto parent = http::parse_traceparent(job.message.traceparent.value_or(""))) {
    finished.trace_id = std::move(parent->trace_id);
  }
  return finished;
}

Outcome Worker::run(const Job& job, const tasks::TaskSpec* spec) {
  const celery::TaskMessage& message = job.message;
  if (expired(message, celery::now_unix())) return revoked();
  if (ledger_.revoked(message.id)) return revoked("revoked");
  if (spec == nullptr) {
    log::warn("received unregistered task", {{"task", message.task}, {"id", message.id}});
    return not_registered(message.task);
  }
  auto context = track(job.delivery.tag, message.retries);
  ledger_.started(job.delivery.tag, context, celery::now_unix());
  return run_guarded(message.task, [&] {
    return run_body(*spec, tasks::bind(*spec, message.args, message.kwargs), message, context);
  });
}

std::shared_ptr<tasks::Context> Worker::track(const std::string& tag, std::int64_t retries) {
  auto context = std::make_shared<tasks::Context>(retries);
  std::lock_guard lock(mutex_);
  contexts_[tag] = context;
  return context;
}

bool Worker::abandoned() const {
  std::lock_guard lock(mutex_);
  return abandon_;
}

void Worker::stop_fetching() {
  {
    std::lock_guard lock(mutex_);
    fetching_ = false;
  }
  changed_.notify_all();
  runnable_ready_.notify_all();
  if (fetcher_.joinable()) fetcher_.join();
}

bool Worker::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline, [this] { return running_.empty(); });
}

bool Worker::stop() {
  stop_fetching();
  control_.stop();
  events_.stop();
  std::vector<Delivery> unfinished;
  {
    std::lock_guard lock(mutex_);
    abandon_ = true;
    for (auto& [tag, context] : contexts_) context->cancel();
    for (auto& [tag, running] : running_) {
      if (!running.computed) unfinished.push_back(running.delivery);
    }
  }
  changed_.notify_all();
  if (!unfinished.empty()) {
    try {
      Broker broker(broker_url_, backend_url_, kRedisTimeout);
      for (const auto& delivery : unfinished) {
        broker.requeue(delivery.tag, celery::mark_redelivered(delivery.raw), delivery.queue_key);
      }
      log::info("requeued unfinished tasks", {{"count", unfinished.size()}});
    } catch (const redis::Error& e) {
      log::warn("could not requeue unfinished tasks; they return after the visibility timeout",
                {{"error", e.what()}});
    }
  }
  bool idle = wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  {
    std::lock_guard lock(mutex_);
    completer_stop_ = true;
  }
  completion_ready_.notify_all();
  if (!idle) {
    for (auto& executor : executors_) executor.detach();
    executors_.clear();
    if (completer_.joinable()) completer_.detach();
    return false;
  }
  for (auto& executor : executors_) executor.join();
  executors_.clear();
  if (completer_.joinable()) completer_.join();
  return true;
}

}  // namespace october::worker
