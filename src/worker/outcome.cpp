#include "worker/outcome.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <exception>
#include <stdexcept>

#include "celery/canvas.hpp"
#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "core/log.hpp"
#include "tasks/registry.hpp"

namespace october::worker {

namespace json = boost::json;
using celery::TaskState;

namespace {

// Python clients print it as the remote traceback; the body is C++, so it names the worker.
std::string traceback_for(std::string_view task, const tasks::TaskError& error) {
  return "Traceback (most recent call last):\n  File \"october-worker\", in " + std::string(task) +
         "\n" + error.type + ": " + error.what() + "\n";
}

Outcome raised(TaskState state, std::string_view task, const tasks::TaskError& error) {
  Outcome outcome;
  outcome.state = state;
  outcome.exception = {error.type, error.module, error.args, traceback_for(task, error)};
  return outcome;
}

}  // namespace

bool expired(const celery::TaskMessage& message, double now) {
  if (!message.expires) return false;
  double expires = 0;
  try {
    expires = celery::parse_iso8601(*message.expires);
  } catch (const std::invalid_argument&) {
    return false;
  }
  return expires > 0 && expires < now;
}

Outcome revoked(std::string_view reason) {
  Outcome outcome;
  outcome.state = TaskState::revoked;
  outcome.exception = {"TaskRevokedError", "celery.exceptions", json::array{json::string(reason)},
                       ""};
  return outcome;
}

Outcome not_registered(std::string_view task) {
  return raised(TaskState::failure, task,
                tasks::TaskError("NotRegistered", "celery.exceptions", std::string(task)));
}

Outcome run_guarded(std::string_view task, const std::function<json::value()>& body) {
  try {
    Outcome outcome;
    outcome.result = body();
    return outcome;
  } catch (const tasks::TaskError& error) {
    return raised(TaskState::failure, task, error);
  } catch (const tasks::Retry& retry) {
    Outcome outcome = raised(TaskState::retry, task, retry.cause);
    outcome.retry_countdown = retry.countdown;
    return outcome;
  } catch (const std::exception& error) {
    return raised(TaskState::failure, task,
                  tasks::TaskError("RuntimeError", "builtins", error.what()));
  }
}

celery::Broker::Completion settle(const celery::TaskMessage& message, const std::string& tag,
                                  const Outcome& outcome, double now) {
  celery::Broker::Completion completion;
  completion.task_id = message.id;
  completion.tag = tag;
  const bool success = outcome.state == TaskState::success;
  celery::FollowUps follow =
      celery::follow_ups(message, outcome.state, outcome.result, outcome.exception, now);
  celery::RecordLinks links{std::move(follow.children), message.group, message.parent_id};
  if (success && !message.ignore_result) {
    completion.record = celery::success_record(message.id, outcome.result, links);
  } else if (!success) {
    completion.record = celery::failure_record(message.id, outcome.state, outcome.exception, links);
  }
  completion.records = std::move(follow.records);
  completion.values = std::move(follow.values);
  completion.publishes = std::move(follow.publishes);
  completion.chord = std::move(follow.chord);
  if (outcome.state == TaskState::retry) {
    celery::TaskMessage next = message;
    next.retries = message.retries + 1;
    next.eta = celery::format_iso8601(now + outcome.retry_countdown, true);
    next.delivery_tag.clear();  // a new message: encode_envelope gives it its own tag
    next.redelivered = false;
    completion.retry_envelope = celery::encode_envelope(next);
    completion.retry_queue_key = celery::queue_key(message.routing_key, message.priority);
  }
  return completion;
}

}  // namespace october::worker
