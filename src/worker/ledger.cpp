#include "worker/ledger.hpp"

#include <csignal>
#include <utility>

#include "celery/records.hpp"
#include "celery/timestamps.hpp"

namespace october::worker {

namespace json = boost::json;

namespace {

json::value optional_text(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

// Python's repr of the exception a client re-raises: ValueError('boom').
std::string exception_repr(const celery::TaskException& exception) {
  std::string out = exception.type + "(";
  for (std::size_t i = 0; i < exception.args.size(); ++i) {
    if (i > 0) out += ", ";
    out += celery::python_repr(exception.args[i]);
  }
  return out + ")";
}

// The timer priority Celery reports for an ETA entry (its default for scheduled requests).
constexpr int kTimerPriority = 6;

}  // namespace

std::optional<int> signal_number(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  if (upper.starts_with("SIG")) upper = upper.substr(3);
  static const std::map<std::string, int, std::less<>> known{
      {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"QUIT", SIGQUIT},
      {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ABRT", SIGABRT}};
  if (auto it = known.find(upper); it != known.end()) return it->second;
  return std::nullopt;
}

bool TaskLedger::set_task_events(TaskEventSink sink) {
  std::lock_guard lock(mutex_);
  const bool changed = static_cast<bool>(sink_) != static_cast<bool>(sink);
  sink_ = std::move(sink);
  return changed;
}

bool TaskLedger::task_events() const {
  std::lock_guard lock(mutex_);
  return static_cast<bool>(sink_);
}

void TaskLedger::emit(std::string_view type, json::object fields) const {
  TaskEventSink sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (sink) sink(type, std::move(fields));
}

void TaskLedger::received(const std::string& tag, const celery::TaskMessage& message, double eta,
                          double now) {
  bool events = false;
  {
    std::lock_guard lock(mutex_);
    Entry& entry = entries_[tag];
    entry.message = message;
    entry.eta = eta > now ? eta : 0;
    events = static_cast<bool>(sink_);
  }
  if (!events) return;
  emit("task-received", {{"uuid", message.id},
                         {"name", message.task},
                         {"args", celery::python_repr(message.args)},
                         {"kwargs", celery::python_repr(message.kwargs)},
                         {"root_id", message.root_id},
                         {"parent_id", optional_text(message.parent_id)},
                         {"retries", message.retries},
                         {"eta", optional_text(message.eta)},
                         {"expires", optional_text(message.expires)}});
}

bool TaskLedger::revoked(const std::string& task_id) const {
  std::lock_guard lock(mutex_);
  return revoked_.contains(task_id);
}

void TaskLedger::started(const std::string& tag, std::shared_ptr<tasks::Context> context,
                         double now) {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(tag);
    if (it == entries_.end()) return;
    it->second.time_start = now;
    it->second.context = std::move(context);
    ++totals_[it->second.message.task];  // Celery counts a task once its body starts
    if (!sink_) return;
    id = it->second.message.id;
  }
  emit("task-started", {{"uuid", id}});
}

Outcome TaskLedger::finished(const std::string& tag, const celery::TaskMessage& message,
                             Outcome outcome, double runtime) {
  bool events = false;
  std::string signal;
  bool terminated = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(tag); it != entries_.end()) {
      terminated = it->second.terminated;
      signal = it->second.signal;
      entries_.erase(it);
    }
    ++processed_;
    events = static_cast<bool>(sink_);
  }
  if (terminated) outcome = worker::revoked("terminated");
  if (!events) return outcome;
  switch (outcome.state) {
    case celery::TaskState::success:
      emit("task-succeeded", {{"uuid", message.id},
                              {"result", celery::python_repr(outcome.result)},
                              {"runtime", runtime}});
      break;
    case celery::TaskState::retry:
      emit("task-retried", {{"uuid", message.id},
                            {"exception", exception_repr(outcome.exception)},
                            {"traceback", outcome.exception.traceback}});
      break;
    case celery::TaskState::revoked: {
      const bool expired = !terminated && !outcome.exception.args.empty() &&
                           outcome.exception.args[0].is_string() &&
                           outcome.exception.args[0].get_string() == "expired";
      json::value signum = nullptr;
      if (terminated) signum = signal_number(signal).value_or(SIGTERM);
      emit("task-revoked", {{"uuid", message.id},
                            {"terminated", terminated},
                            {"signum", signum},
                            {"expired", expired}});
      break;
    }
    default:
      emit("task-failed", {{"uuid", message.id},
                           {"exception", exception_repr(outcome.exception)},
                           {"traceback", outcome.exception.traceback}});
  }
  return outcome;
}

void TaskLedger::forget(const std::string& tag) {
  std::lock_guard lock(mutex_);
  entries_.erase(tag);
}

TaskLedger::Revocation TaskLedger::revoke(const std::vector<std::string>& ids, bool terminate,
                                          const std::string& signal, double now) {
  Revocation revocation;
  std::lock_guard lock(mutex_);
  for (const auto& id : ids) revoked_.add(id, now);
  if (!terminate) return revocation;
  for (auto& [tag, entry] : entries_) {
    if (!entry.time_start || entry.terminated) continue;
    for (const auto& id : ids) {
      if (entry.message.id != id) continue;
      entry.terminated = true;
      entry.signal = signal;
      // A body on a thread cannot be killed: a cooperative one (sleep) stops at once, a child
      // process is killed, and any other runs to its end with its result thrown away.
      if (entry.context) entry.context->cancel();
      revocation.terminated.push_back(id);
    }
  }
  return revocation;
}

json::object TaskLedger::exchange_revoked(const json::object& theirs, double now) {
  std::lock_guard lock(mutex_);
  for (const auto& [id, inserted] : theirs) {
    // Celery sends {id: [time, id]} (its LimitedSet's _data) or {id: time}.
    const json::value* time = &inserted;
    if (inserted.is_array() && !inserted.get_array().empty()) time = &inserted.get_array()[0];
    if (time->is_double()) revoked_.add(std::string(id), time->get_double());
  }
  revoked_.purge(now);
  json::object ours;
  for (const auto& [id, time] : revoked_.items()) ours[id] = json::array{time, id};
  return ours;
}

json::array TaskLedger::revoked_ids() const {
  std::lock_guard lock(mutex_);
  json::array ids;
  for (const auto& [id, time] : revoked_.items()) ids.emplace_back(id);
  return ids;
}

json::object TaskLedger::info(const Entry& entry) const {
  const celery::TaskMessage& m = entry.message;
  json::value redelivered = nullptr;
  if (m.redelivered) redelivered = true;
  return {{"id", m.id},
          {"name", m.task},
          {"args", m.args},
          {"kwargs", m.kwargs},
          {"type", m.task},
          {"hostname", hostname_},
          {"time_start", entry.time_start ? json::value(*entry.time_start) : json::value(nullptr)},
          {"acknowledged", false},
          {"delivery_info",
           {{"exchange", m.exchange},
            {"routing_key", m.routing_key},
            {"priority", m.priority},
            {"redelivered", redelivered}}},
          {"worker_pid", entry.time_start ? json::value(pid_) : json::value(nullptr)}};
}

std::string TaskLedger::state_of(const Entry& entry, double now) const {
  if (entry.time_start) return "active";
  if (entry.eta > now) return "scheduled";
  return "reserved";
}

json::array TaskLedger::active() const {
  std::lock_guard lock(mutex_);
  json::array out;
  for (const auto& [tag, entry] : entries_) {
    if (entry.time_start) out.push_back(info(entry));
  }
  return out;
}

json::array TaskLedger::reserved(double now) const {
  std::lock_guard lock(mutex_);
  json::array out;
  for (const auto& [tag, entry] : entries_) {
    if (state_of(entry, now) == "reserved") out.push_back(info(entry));
  }
  return out;
}

json::array TaskLedger::scheduled(double now) const {
  std::lock_guard lock(mutex_);
  json::array out;
  for (const auto& [tag, entry] : entries_) {
    if (state_of(entry, now) != "scheduled") continue;
    out.push_back(json::object{{"eta", celery::format_iso8601(entry.eta, true)},
                               {"priority", kTimerPriority},
                               {"request", info(entry)}});
  }
  return out;
}

json::object TaskLedger::query(const std::vector<std::string>& ids) const {
  std::lock_guard lock(mutex_);
  json::object out;
  for (const auto& [tag, entry] : entries_) {
    for (const auto& id : ids) {
      if (entry.message.id != id) continue;
      // Celery counts an ETA request among the reserved ones here.
      const std::string state = entry.time_start ? "active" : "reserved";
      out[id] = json::array{state, info(entry)};
    }
  }
  return out;
}

json::object TaskLedger::totals() const {
  std::lock_guard lock(mutex_);
  json::object out;
  for (const auto& [name, count] : totals_) out[name] = count;
  return out;
}

std::int64_t TaskLedger::active_count() const {
  std::lock_guard lock(mutex_);
  std::int64_t count = 0;
  for (const auto& [tag, entry] : entries_) count += entry.time_start ? 1 : 0;
  return count;
}

std::int64_t TaskLedger::processed() const {
  std::lock_guard lock(mutex_);
  return processed_;
}

}  // namespace october::worker
