#include "worker/events.hpp"

#include <unistd.h>

#include <utility>
#include <vector>

#include "celery/timestamps.hpp"
#include "core/build_info.hpp"
#include "core/log.hpp"

namespace october::worker {

namespace json = boost::json;

EventSender::EventSender(const redis::Url& broker, std::string hostname,
                         celery::LamportClock& clock, std::function<WorkerLoad()> load)
    : broker_(broker),
      source_{std::move(hostname), static_cast<std::int64_t>(getpid()), celery::local_utcoffset()},
      clock_(clock),
      load_(std::move(load)) {}

EventSender::~EventSender() { stop(); }

void EventSender::start() {
  send("worker-online", {});
  thread_ = std::thread([this] { loop(); });
}

void EventSender::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(worker_event("worker-offline"));
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

json::object EventSender::worker_event(std::string_view type) {
  const WorkerLoad load = load_();
  return celery::make_event(
      type, source_, clock_.forward(), celery::now_unix(),
      celery::worker_fields(load.active, load.processed, build_info::version()));
}

void EventSender::send(std::string_view type, const json::object& fields) {
  json::object event;
  if (type.starts_with("worker-")) {
    event = worker_event(type);
  } else {
    event = celery::make_event(type, source_, clock_.forward(), celery::now_unix(), fields);
  }
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kQueueLimit) return;
    queue_.push_back(std::move(event));
  }
  wake_.notify_one();
}

void EventSender::loop() {
  redis::Connection connection(broker_, std::chrono::milliseconds(2000));
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(celery::kHeartbeatSeconds));
  auto next_heartbeat = std::chrono::steady_clock::now() + period;
  for (;;) {
    std::vector<json::object> batch;
    bool last = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_heartbeat, [this] { return stopping_ || !queue_.empty(); });
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      last = stopping_;
    }
    if (!last && std::chrono::steady_clock::now() >= next_heartbeat) {
      batch.push_back(worker_event("worker-heartbeat"));
      next_heartbeat += period;
      if (next_heartbeat < std::chrono::steady_clock::now()) {
        next_heartbeat = std::chrono::steady_clock::now() + period;
      }
    }
    if (!batch.empty()) {
      std::vector<std::vector<std::string>> commands;
      commands.reserve(batch.size());
      for (const auto& event : batch) {
        const std::string routing_key = celery::event_routing_key(event.at("type").as_string());
        commands.push_back({"PUBLISH",
                            celery::fanout_channel(broker_.db, celery::kEventExchange, routing_key),
                            celery::encode_event(event, source_.hostname)});
      }
      try {
        connection.pipeline(commands);
      } catch (const redis::Error& e) {
        // Events are best effort, as in Celery: a monitor misses them while Redis is away.
        log::write(log::Level::debug, "events not sent",
                   {{"count", batch.size()}, {"error", e.what()}});
      }
    }
    if (last) return;
  }
}

}  // namespace october::worker
