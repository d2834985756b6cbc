#include "api/task_endpoints.hpp"

#include <boost/json.hpp>

#include "api/routes.hpp"
#include "celery/broker.hpp"
#include "core/json_text.hpp"
#include "core/log.hpp"
#include "core/parse.hpp"
#include "tasks/registry.hpp"

namespace october::api {

namespace json = boost::json;
using http::json_error;
using http::Response;

namespace {

constexpr auto kRedisTimeout = std::chrono::milliseconds(2000);

Response unavailable(const std::string& detail) {
  return retry_later(503, "broker_unavailable", detail);
}

struct Invalid {
  std::string code;
  std::string detail;
};

std::optional<double> number(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  if (value.is_double()) return value.get_double();
  return std::nullopt;
}

// Builds the Celery message from the request body, or says what is wrong with it.
celery::TaskMessage parse_submission(const std::string& body) {
  json::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec) throw Invalid{"invalid_json", "the body is not valid JSON: " + ec.message()};
  if (!parsed.is_object()) throw Invalid{"invalid_body", "the body must be a JSON object"};
  const auto& object = parsed.get_object();
  for (const auto& [key, value] : object) {
    static const std::vector<std::string_view> known = {
        "name", "args", "kwargs", "countdown", "expires", "priority", "queue"};
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      throw Invalid{"invalid_body", "unknown field '" + std::string(key) +
                                        "'; allowed: name, args, kwargs, countdown, expires, "
                                        "priority, queue"};
    }
  }
  const auto* name = object.if_contains("name");
  if (name == nullptr || !name->is_string()) {
    throw Invalid{"invalid_task", "name must be a string naming a task: one of " + tasks::names()};
  }
  const tasks::TaskSpec* spec = tasks::find(name->get_string());
  if (spec == nullptr) {
    throw Invalid{"unknown_task", "name '" + std::string(name->get_string()) +
                                      "' is not a registered task; one of " + tasks::names()};
  }
  celery::TaskMessage message;
  message.task = spec->name;
  if (const auto* args = object.if_contains("args"); args != nullptr && !args->is_null()) {
    if (!args->is_array()) throw Invalid{"invalid_arguments", "args must be a JSON array"};
    message.args = args->get_array();
  }
  if (const auto* kwargs = object.if_contains("kwargs"); kwargs != nullptr && !kwargs->is_null()) {
    if (!kwargs->is_object()) throw Invalid{"invalid_arguments", "kwargs must be a JSON object"};
    message.kwargs = kwargs->get_object();
  }
  try {
    tasks::bind(*spec, message.args, message.kwargs);
  } catch (const tasks::TaskError& e) {
    throw Invalid{"invalid_arguments", e.what()};
  }
  const double now = celery::now_unix();
  if (const auto* countdown = object.if_contains("countdown");
      countdown != nullptr && !countdown->is_null()) {
    auto seconds = number(*countdown);
    if (!seconds || *seconds < 0 || *seconds > 86400) {
      throw Invalid{"invalid_parameter", "countdown must be a number between 0 and 86400"};
    }
    if (*seconds > 0) message.eta = celery::format_iso8601(now + *seconds, true);
  }
  if (const auto* expires = object.if_contains("expires");
      expires != nullptr && !expires->is_null()) {
    auto seconds = number(*expires);
    if (!seconds || *seconds <= 0 || *seconds > 31536000) {
      throw Invalid{"invalid_parameter",
                    "expires must be a number of seconds between 0 (exclusive) and 31536000"};
    }
    message.expires = celery::format_iso8601(now + *seconds, true);
  }
  if (const auto* priority = object.if_contains("priority");
      priority != nullptr && !priority->is_null()) {
    if (!priority->is_int64() || priority->get_int64() < 0 || priority->get_int64() > 9) {
      throw Invalid{"invalid_parameter", "priority must be an integer between 0 and 9"};
    }
    message.priority = priority->get_int64();
  }
  if (const auto* queue = object.if_contains("queue"); queue != nullptr && !queue->is_null()) {
    bool ok =
        queue->is_string() && !queue->get_string().empty() && queue->get_string().size() <= 128;
    if (ok) {
      for (char c : queue->get_string()) {
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '-' || c == ':');
      }
    }
    if (!ok) {
      throw Invalid{"invalid_parameter",
                    "queue must be 1 to 128 characters of letters, digits and . _ - :"};
    }
    message.routing_key = std::string(queue->get_string());
  }
  return message;
}

std::string join_args(const json::value& args) {
  if (!args.is_array()) return to_json(args);
  std::string out;
  for (const auto& item : args.get_array()) {
    if (!out.empty()) out += ", ";
    out += item.is_string() ? std::string(item.get_string()) : to_json(item);
  }
  return out;
}

}  // namespace

TaskEndpoints::TaskEndpoints(const CommonConfig& config, ComputePool& broker_pool,
                             const RedisHealth& redis, metrics::Registry& registry)
    : broker_url_(redis::Url::parse(config.broker_url)),
      backend_url_(redis::Url::parse(config.result_backend)),
      pool_(broker_pool),
      redis_(redis),
      submitted_(registry.counter("october_tasks_submitted_total",
                                  "Tasks published to the broker by POST /tasks.", {"task"})) {
  for (const auto& spec : tasks::registry()) submitted_.labels({spec.name});
}

template <typename Call>
void TaskEndpoints::with_broker(const http::Responder& out, Call call) {
  bool accepted = pool_.try_submit([this, out, call = std::move(call)]() mutable {
    // One Broker (two Redis connections) per pool thread, made on first use.
    thread_local std::unique_ptr<celery::Broker> broker;
    try {
      if (!broker)
        broker = std::make_unique<celery::Broker>(broker_url_, backend_url_, kRedisTimeout);
      out.send(call(*broker));
    } catch (const redis::Error& e) {
      broker.reset();
      log::warn("broker call failed", {{"error", e.what()}});
      out.send(unavailable(std::string("the task broker is unavailable: ") + e.what()));
    }
  });
  if (!accepted) out.send(unavailable("too many task requests in progress; retry later"));
}

void TaskEndpoints::submit(const http::Request& request, const http::Responder& out) {
  celery::TaskMessage message;
  try {
    message = parse_submission(request.body);
  } catch (const Invalid& invalid) {
    out.send(json_error(400, invalid.code, invalid.detail));
    return;
  }
  if (!redis_.ok()) {
    out.send(unavailable("the task broker is unavailable: " + redis_.last_error()));
    return;
  }
  with_broker(out, [this, message = std::move(message)](celery::Broker& broker) mutable {
    broker.publish(message);
    submitted_.labels({message.task}).inc();
    auto response = json_response({{"task_id", message.id},
                                   {"name", message.task},
                                   {"status", "PENDING"},
                                   {"status_url", "/tasks/" + message.id}},
                                  202);
    response.headers.emplace_back("Location", "/tasks/" + message.id);
    return response;
  });
}

void TaskEndpoints::status(const std::string& task_id, const http::Responder& out) {
  with_broker(out, [task_id](celery::Broker& broker) {
    auto stored = broker.result(task_id);
    if (!stored) return json_response({{"task_id", task_id}, {"status", "PENDING"}});
    json::error_code ec;
    json::value record = json::parse(*stored, ec);
    if (ec || !record.is_object()) {
      return json_error(500, "corrupt_result",
                        "the stored result of " + task_id + " is not a Celery result record");
    }
    const auto& meta = record.get_object();
    json::object body{{"task_id", task_id}};
    const auto* state = meta.if_contains("status");
    body["status"] = state != nullptr ? *state : json::value("PENDING");
    const auto* result = meta.if_contains("result");
    bool success = state != nullptr && state->is_string() && state->get_string() == "SUCCESS";
    if (success) {
      body["result"] = result != nullptr ? *result : json::value(nullptr);
    } else if (result != nullptr && result->is_object() &&
               result->get_object().contains("exc_type")) {
      const auto& error = result->get_object();
      body["error"] = json::object{
          {"type", error.at("exc_type")},
          {"module", error.contains("exc_module") ? error.at("exc_module") : json::value("")},
          {"message",
           error.contains("exc_message") ? join_args(error.at("exc_message")) : std::string()}};
    } else if (result != nullptr) {
      body["result"] = *result;
    }
    if (const auto* done = meta.if_contains("date_done"); done != nullptr) {
      body["date_done"] = *done;
    }
    return json_response(body);
  });
}

}  // namespace october::api
