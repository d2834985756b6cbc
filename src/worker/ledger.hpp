#pragma once
// What remote control asks a worker about its tasks, kept beside the engine: every message
// taken and not yet finished (reserved, scheduled by ETA, or active), the ids revoked (Celery's
// LimitedSet), the totals by task name, and the task events each step sends when they are on.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "celery/envelope.hpp"
#include "celery/limited_set.hpp"
#include "tasks/registry.hpp"
#include "worker/outcome.hpp"

namespace october::worker {

// Sends one task event ("task-started", fields); set only while task events are on.
using TaskEventSink = std::function<void(std::string_view type, boost::json::object fields)>;

class TaskLedger {
 public:
  TaskLedger(std::string hostname, std::int64_t pid) : hostname_(std::move(hostname)), pid_(pid) {}

  // Task events on or off (WORKER_SEND_EVENTS, enable_events / disable_events). True when it
  // changed something.
  bool set_task_events(TaskEventSink sink);
  [[nodiscard]] bool task_events() const;

  // A message taken from its queue; `eta` in Unix seconds (0 when none). task-received.
  void received(const std::string& tag, const celery::TaskMessage& message, double eta, double now);
  // Whether the task is revoked (then it is not run).
  [[nodiscard]] bool revoked(const std::string& task_id) const;
  // Its body starts now with `context`, which terminate cancels. task-started.
  void started(const std::string& tag, std::shared_ptr<tasks::Context> context, double now);
  // How the run ended, turned REVOKED if it was terminated meanwhile; sends its task event and
  // forgets the message.
  Outcome finished(const std::string& tag, const celery::TaskMessage& message, Outcome outcome,
                   double runtime);
  // Shutting down: the message goes back to its queue, nothing is reported.
  void forget(const std::string& tag);

  struct Revocation {
    std::vector<std::string> terminated;  // ids running here that were told to stop
  };
  // Celery's revoke: remembered for `now`; with terminate, running ones are stopped.
  Revocation revoke(const std::vector<std::string>& ids, bool terminate, const std::string& signal,
                    double now);
  // mingle's hello: merges {id: insertion time} from another worker, answers ours.
  boost::json::object exchange_revoked(const boost::json::object& theirs, double now);
  [[nodiscard]] boost::json::array revoked_ids() const;

  // Request.info() lists of inspect active / reserved / scheduled.
  [[nodiscard]] boost::json::array active() const;
  [[nodiscard]] boost::json::array reserved(double now) const;
  [[nodiscard]] boost::json::array scheduled(double now) const;
  // query_task: {id: [state, info]} for the ids known here.
  [[nodiscard]] boost::json::object query(const std::vector<std::string>& ids) const;
  [[nodiscard]] boost::json::object totals() const;
  [[nodiscard]] std::int64_t active_count() const;
  [[nodiscard]] std::int64_t processed() const;

 private:
  struct Entry {
    celery::TaskMessage message;
    double eta = 0;
    std::optional<double> time_start;
    std::shared_ptr<tasks::Context> context;
    bool terminated = false;
    std::string signal;
  };
  [[nodiscard]] boost::json::object info(const Entry& entry) const;
  [[nodiscard]] std::string state_of(const Entry& entry, double now) const;
  void emit(std::string_view type, boost::json::object fields) const;

  std::string hostname_;
  std::int64_t pid_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by delivery tag
  celery::LimitedSet revoked_;
  std::map<std::string, std::int64_t> totals_;
  std::int64_t processed_ = 0;
  TaskEventSink sink_;
};

// Signal names Celery accepts for terminate ("SIGTERM", "TERM", "KILL", ...) as numbers.
std::optional<int> signal_number(std::string_view name);

}  // namespace october::worker
