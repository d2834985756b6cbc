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
                   json::value traceback) {
  return to_json(json::object{{"status", state_name(state)},
                              {"result", std::move(result)},
                              {"traceback", std::move(traceback)},
                              {"children", json::array{}},
                              {"date_done", format_iso8601(now_unix(), false)},
                              {"task_id", task_id}});
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

std::string success_record(std::string_view task_id, const json::value& result) {
  return record(task_id, TaskState::success, result, nullptr);
}

std::string failure_record(std::string_view task_id, TaskState state,
                           const TaskException& exception) {
  json::object result{{"exc_type", exception.type},
                      {"exc_message", exception.args},
                      {"exc_module", exception.module}};
  return record(
      task_id, state, std::move(result),
      exception.traceback.empty() ? json::value(nullptr) : json::value(exception.traceback));
}

}  // namespace october::celery
