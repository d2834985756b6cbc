#pragma once
// The worker's event thread: worker-online at start, worker-heartbeat every 2 s and
// worker-offline at stop (Celery sends these without -E too), and the task events the ledger
// hands it while they are on. Executors only queue an event; Redis is this thread's business,
// so a slow broker never delays a task. The queue is bounded: past it events are dropped, as a
// monitor that falls behind loses events in Celery too.
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "celery/events.hpp"
#include "celery/kombu.hpp"
#include "redis/client.hpp"

namespace october::worker {

struct WorkerLoad {
  std::int64_t active = 0;
  std::int64_t processed = 0;
};

class EventSender {
 public:
  EventSender(const redis::Url& broker, std::string hostname, celery::LamportClock& clock,
              std::function<WorkerLoad()> load);
  ~EventSender();
  EventSender(const EventSender&) = delete;
  EventSender& operator=(const EventSender&) = delete;

  void start();
  // Sends worker-offline (and what is still queued) and joins the thread.
  void stop();
  // Queues one event; the clock and timestamp are taken now.
  void send(std::string_view type, const boost::json::object& fields);

 private:
  void loop();
  boost::json::object worker_event(std::string_view type);

  static constexpr std::size_t kQueueLimit = 10000;

  redis::Url broker_;
  celery::EventSource source_;
  celery::LamportClock& clock_;
  std::function<WorkerLoad()> load_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<boost::json::object> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace october::worker
