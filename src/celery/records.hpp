#pragma once
// Result-backend records, exactly as Celery's Redis backend writes them, and the task states
// they carry.
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace october::celery {

// celery.states; the record's "status" and the metrics' state label spell them as state_name().
enum class TaskState {
  pending,
  received,
  started,
  success,
  failure,
  retry,
  revoked,
  rejected,
  ignored
};

// The one mapping between the enum and Celery's strings ("SUCCESS", ...).
std::string_view state_name(TaskState state);
// Exact, upper-case names only, as Celery stores them; nullopt for anything else.
std::optional<TaskState> parse_state(std::string_view name);

// What a Python client re-raises: exc_type(*args) from exc_module, and the traceback it shows.
struct TaskException {
  std::string type;
  std::string module;
  boost::json::array args;
  std::string traceback;  // empty: stored as null
};

// What Celery adds to a record when the task was part of a canvas: the results of what it
// published before storing its own ("children", as AsyncResult/GroupResult tuples), and its
// "group_id" and "parent_id" when its message had them.
struct RecordLinks {
  boost::json::array children;
  std::optional<std::string> group_id;
  std::optional<std::string> parent_id;
};

std::string success_record(std::string_view task_id, const boost::json::value& result,
                           const RecordLinks& links = {});
// FAILURE, RETRY (the exception that caused it) and REVOKED records.
std::string failure_record(std::string_view task_id, TaskState state,
                           const TaskException& exception, const RecordLinks& links = {});
// The exception as a record's "result" holds it: {"exc_type", "exc_message", "exc_module"}.
boost::json::value exception_value(const TaskException& exception);

}  // namespace october::celery
