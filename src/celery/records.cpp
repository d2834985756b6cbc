#include "celery/records.hpp"

#include <array>
#include <boost/json/object.hpp>
#include <utility>

#include "celery/timestamps.hpp"
#include "core/json_text.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<TaskState, std::string_view>, 9> kStateNames{{
    {TaskState::pending, "PENDING"},
    {TaskState::received, "RECEIVED"},
    {TaskState::started, "STARTED"},
    {TaskState::success, "SUCCESS"},
    {TaskState::failure, "FAILURE"},
    {TaskState::retry, "RETRY"},
    {TaskState::revoked, "REVOKED"},
    {TaskState::rejected, "REJECTED"},
    {TaskState::ignored, "IGNORED"},
}};

// Every state's record has the same shape; only status, result and traceback differ.
std::string record(std::string_view task_id, TaskState state, json::value result,
                   json::value traceback, const RecordLinks& links) {
  json::object fields{{"status", state_name(state)},
                      {"result", std::move(result)},
                      {"traceback", std::move(traceback)},
                      {"children", links.children},
                      {"date_done", format_iso8601(now_unix(), false)}};
  // Celery's key order, which only a byte-for-byte comparison would notice.
  if (links.group_id) fields["group_id"] = *links.group_id;
  if (links.parent_id) fields["parent_id"] = *links.parent_id;
  fields["task_id"] = task_id;
  return to_json(fields);
}

}  // namespace

std::string_view state_name(TaskState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "UNKNOWN";  // not reached: every enumerator is in the table
}

std::optional<TaskState> parse_state(std::string_view name) {
  for (const auto& [value, text] : kStateNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::string success_record(std::string_view task_id, const json::value& result,
                           const RecordLinks& links) {
  return record(task_id, TaskState::success, result, nullptr, links);
}

json::value exception_value(const TaskException& exception) {
  return json::object{{"exc_type", exception.type},
                      {"exc_message", exception.args},
                      {"exc_module", exception.module}};
}

std::string failure_record(std::string_view task_id, TaskState state,
                           const TaskException& exception, const RecordLinks& links) {
  return record(
      task_id, state, exception_value(exception),
      exception.traceback.empty() ? json::value(nullptr) : json::value(exception.traceback), links);
}

}  // namespace october::celery
