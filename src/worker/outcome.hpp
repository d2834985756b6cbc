#pragma once
// How one run of a task ended, as a value. The worker decides it once per message, and settle()
// alone turns it into what Redis is told, so every way a task can end is stored and acked alike.
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "celery/broker.hpp"
#include "celery/envelope.hpp"
#include "celery/records.hpp"

namespace october::worker {

struct Outcome {
  celery::TaskState state = celery::TaskState::success;
  boost::json::value result;        // SUCCESS: what the body returned
  celery::TaskException exception;  // FAILURE, RETRY, REVOKED: what a Python client re-raises
  double retry_countdown = 0;       // RETRY: seconds until the next attempt
};

// True once the message's `expires` has passed at `now`; an unreadable expiry never passes.
bool expired(const celery::TaskMessage& message, double now);
// REVOKED: a message past its expiry ("expired"), revoked before it ran ("revoked") or
// terminated while running ("terminated") is not run or not reported, as in Celery.
Outcome revoked(std::string_view reason = "expired");
// FAILURE NotRegistered: what a Celery worker stores for a task name it does not know.
Outcome not_registered(std::string_view task);
// Runs `body` (the argument binding too, so bad arguments are FAILURE) and says how it ended:
// a value is SUCCESS, a tasks::TaskError FAILURE, a tasks::Retry RETRY with its cause, any other
// exception FAILURE as a RuntimeError.
Outcome run_guarded(std::string_view task, const std::function<boost::json::value()>& body);

// What Redis is told about a message that ran: the result record (none for a successful
// ignore_result task), then an ack, or for RETRY the next attempt published in its place (same
// id, retries + 1, eta `now` + countdown, on the queue and priority it came with).
celery::Broker::Completion settle(const celery::TaskMessage& message, const std::string& tag,
                                  const Outcome& outcome, double now);

}  // namespace october::worker
