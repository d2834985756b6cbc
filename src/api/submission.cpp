#include "api/submission.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <optional>

#include "celery/timestamps.hpp"
#include "tasks/registry.hpp"

namespace october::api {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> kFields = {"name",    "args",     "kwargs", "countdown",
                                                     "expires", "priority", "queue"};

// The field's value, or nullptr when it is absent or null (both mean "not given").
const json::value* given(const json::object& body, std::string_view key) {
  const auto* value = body.if_contains(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

std::optional<double> number(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  if (value.is_double()) return value.get_double();
  return std::nullopt;
}

json::object parse_object(std::string_view body) {
  json::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec) throw InvalidSubmission{"invalid_json", "the body is not valid JSON: " + ec.message()};
  if (!parsed.is_object()) {
    throw InvalidSubmission{"invalid_body", "the body must be a JSON object"};
  }
  return std::move(parsed.get_object());
}

void reject_unknown_fields(const json::object& body) {
  for (const auto& [key, value] : body) {
    if (std::find(kFields.begin(), kFields.end(), std::string_view(key)) == kFields.end()) {
      throw InvalidSubmission{"invalid_body",
                              "unknown field '" + std::string(key) +
                                  "'; allowed: name, args, kwargs, countdown, expires, "
                                  "priority, queue"};
    }
  }
}

const tasks::TaskSpec& find_task(const json::object& body) {
  const auto* name = body.if_contains("name");
  if (name == nullptr || !name->is_string()) {
    throw InvalidSubmission{"invalid_task",
                            "name must be a string naming a task: one of " + tasks::names()};
  }
  const tasks::TaskSpec* spec = tasks::find(name->get_string());
  if (spec == nullptr) {
    throw InvalidSubmission{"unknown_task", "name '" + std::string(name->get_string()) +
                                                "' is not a registered task; one of " +
                                                tasks::names()};
  }
  return *spec;
}

// args and kwargs, checked against the task's signature as the worker will bind them.
void read_arguments(const json::object& body, const tasks::TaskSpec& spec,
                    celery::TaskMessage& message) {
  if (const auto* args = given(body, "args")) {
    if (!args->is_array())
      throw InvalidSubmission{"invalid_arguments", "args must be a JSON array"};
    message.args = args->get_array();
  }
  if (const auto* kwargs = given(body, "kwargs")) {
    if (!kwargs->is_object()) {
      throw InvalidSubmission{"invalid_arguments", "kwargs must be a JSON object"};
    }
    message.kwargs = kwargs->get_object();
  }
  try {
    tasks::bind(spec, message.args, message.kwargs);
  } catch (const tasks::TaskError& e) {
    throw InvalidSubmission{"invalid_arguments", e.what()};
  }
}

// countdown becomes the eta, expires the expiry, both counted from `now`.
void read_schedule(const json::object& body, double now, celery::TaskMessage& message) {
  if (const auto* countdown = given(body, "countdown")) {
    auto seconds = number(*countdown);
    if (!seconds || *seconds < 0 || *seconds > kMaxCountdownSeconds) {
      throw InvalidSubmission{"invalid_parameter", "countdown must be a number between 0 and " +
                                                       std::to_string(kMaxCountdownSeconds)};
    }
    if (*seconds > 0) message.eta = celery::format_iso8601(now + *seconds, true);
  }
  if (const auto* expires = given(body, "expires")) {
    auto seconds = number(*expires);
    if (!seconds || *seconds <= 0 || *seconds > kMaxExpiresSeconds) {
      throw InvalidSubmission{"invalid_parameter",
                              "expires must be a number of seconds between 0 (exclusive) and " +
                                  std::to_string(kMaxExpiresSeconds)};
    }
    message.expires = celery::format_iso8601(now + *seconds, true);
  }
}

void read_priority(const json::object& body, celery::TaskMessage& message) {
  if (const auto* priority = given(body, "priority")) {
    if (!priority->is_int64() || priority->get_int64() < 0 ||
        priority->get_int64() > kMaxPriority) {
      throw InvalidSubmission{"invalid_parameter", "priority must be an integer between 0 and " +
                                                       std::to_string(kMaxPriority)};
    }
    message.priority = priority->get_int64();
  }
}

bool valid_queue_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxQueueLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == ':';
  });
}

void read_queue(const json::object& body, celery::TaskMessage& message) {
  if (const auto* queue = given(body, "queue")) {
    if (!queue->is_string() || !valid_queue_name(queue->get_string())) {
      throw InvalidSubmission{"invalid_parameter",
                              "queue must be 1 to " + std::to_string(kMaxQueueLength) +
                                  " characters of letters, digits and . _ - :"};
    }
    message.routing_key = std::string(queue->get_string());
  }
}

}  // namespace

celery::TaskMessage parse_submission(std::string_view body, double now) {
  const json::object object = parse_object(body);
  reject_unknown_fields(object);
  const tasks::TaskSpec& spec = find_task(object);
  celery::TaskMessage message;
  message.task = spec.name;
  read_arguments(object, spec, message);
  read_schedule(object, now, message);
  read_priority(object, message);
  read_queue(object, message);
  return message;
}

}  // namespace october::api
