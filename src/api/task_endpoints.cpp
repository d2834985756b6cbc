#include "api/task_endpoints.hpp"

#include <boost/json.hpp>

#include "api/routes.hpp"
#include "api/submission.hpp"
#include "celery/broker.hpp"
#include "celery/records.hpp"
#include "celery/timestamps.hpp"
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

TaskEndpoints::TaskEndpoints(const CommonConfig& config, ComputePool& broker_calls,
                             const RedisHealth& redis, metrics::Registry& registry)
    : broker_url_(redis::Url::parse(config.broker_url)),
      backend_url_(redis::Url::parse(config.result_backend)),
      broker_calls_(broker_calls),
      redis_(redis),
      submitted_(registry.counter("october_tasks_submitted_total",
                                  "Tasks published to the broker by POST /tasks.", {"task"})) {
  for (const auto& spec : tasks::registry()) submitted_.labels({spec.name});
}

template <typename Call>
void TaskEndpoints::with_broker(const http::Responder& out, Call call) {
  bool accepted = broker_calls_.try_submit([this, out, call = std::move(call)]() mutable {
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
    message = parse_submission(request.body, celery::now_unix());
    // The worker's span is a child of this server's span of the request.
    message.traceparent = request.traceparent;
  } catch (const InvalidSubmission& invalid) {
    out.send(json_error(400, invalid.code, invalid.detail));
    return;
  }
  if (!redis_.ok()) {
    out.send(unavailable("the task broker is unavailable: " + redis_.last_error()));
    return;
  }
  with_broker(out, [this, message = std::move(message),
                    prefix = std::string(request.link_prefix)](celery::Broker& broker) mutable {
    broker.publish(message);
    submitted_.labels({message.task}).inc();
    auto response = json_response({{"task_id", message.id},
                                   {"name", message.task},
                                   {"status", celery::state_name(celery::TaskState::pending)},
                                   {"status_url", prefix + "/tasks/" + message.id}},
                                  202);
    response.headers.emplace_back("Location", prefix + "/tasks/" + message.id);
    return response;
  });
}

void TaskEndpoints::status(const std::string& task_id, const http::Responder& out) {
  with_broker(out, [task_id](celery::Broker& broker) {
    // Celery reports an id it has no record of as PENDING: unknown and not yet run look alike.
    const std::string_view pending = celery::state_name(celery::TaskState::pending);
    auto stored = broker.result(task_id);
    if (!stored) return json_response({{"task_id", task_id}, {"status", pending}});
    json::error_code ec;
    json::value record = json::parse(*stored, ec);
    if (ec || !record.is_object()) {
      return json_error(500, "corrupt_result",
                        "the stored result of " + task_id + " is not a Celery result record");
    }
    const auto& meta = record.get_object();
    json::object body{{"task_id", task_id}};
    const auto* state = meta.if_contains("status");
    body["status"] = state != nullptr ? *state : json::value(pending);
    const auto* result = meta.if_contains("result");
    bool success = state != nullptr && state->is_string() &&
                   celery::parse_state(state->get_string()) == celery::TaskState::success;
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
