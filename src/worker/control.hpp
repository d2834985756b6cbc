#pragma once
// Remote control: the worker's end of Celery's broadcast mailbox. A thread of its own listens
// on the pidbox channel, runs the commands addressed to this worker (inspect ping, stats,
// active, reserved, scheduled, registered, active_queues, query_task, revoked, clock; control
// revoke with terminate, shutdown, enable_events / disable_events, heartbeat, and mingle's
// hello) and replies the way celery.worker.control does. A command october does not offer gets
// an {"error": ...} reply, never silence.
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "celery/kombu.hpp"
#include "core/config.hpp"
#include "redis/client.hpp"
#include "worker/ledger.hpp"

namespace october::worker {

// WORKER_HOSTNAME, WORKER_SEND_EVENTS and WORKER_MINGLE.
void add_control_options(config::Options& options, std::string& hostname, bool& send_events,
                         bool& mingle);
// The node name replies and events carry: `configured` with Celery's %h (host name), %n (its
// first label) and %d (the rest) expanded, or celery@<host name> when empty.
std::string node_name(const std::string& configured);

// What `stats` and `active_queues` report of this worker.
struct WorkerFacts {
  std::string hostname;
  std::int64_t pid = 0;
  std::int64_t concurrency = 1;
  std::int64_t prefetch_count = 1;
  std::vector<std::string> queues;
  redis::Url broker;
  double soft_time_limit = 0;
  double hard_time_limit = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct ControlHooks {
  // Turns task events on or off; true when that changed something.
  std::function<bool(bool on)> set_task_events;
  std::function<void()> send_heartbeat;
  // A graceful stop, as SIGTERM.
  std::function<void()> shutdown;
};

// The commands themselves, apart from Redis: `run` is what a reply carries.
class Commands {
 public:
  Commands(TaskLedger& ledger, WorkerFacts facts, celery::LamportClock& clock, ControlHooks hooks)
      : ledger_(ledger), facts_(std::move(facts)), clock_(clock), hooks_(std::move(hooks)) {}

  boost::json::value run(std::string_view method, const boost::json::object& arguments);
  [[nodiscard]] const WorkerFacts& facts() const { return facts_; }

 private:
  boost::json::value revoke(const boost::json::object& arguments);
  boost::json::value stats() const;
  boost::json::value active_queues() const;

  TaskLedger& ledger_;
  WorkerFacts facts_;
  celery::LamportClock& clock_;
  ControlHooks hooks_;
};

// Task ids given as Celery sends them: one string or a list of strings.
std::vector<std::string> id_list(const boost::json::value* value);

class ControlServer {
 public:
  ControlServer(Commands& commands, celery::LamportClock& clock)
      : commands_(commands), clock_(clock) {}
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void start();
  void stop();

 private:
  void loop();

  Commands& commands_;
  celery::LamportClock& clock_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace october::worker
