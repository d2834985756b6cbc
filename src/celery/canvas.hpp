#pragma once
// Celery's canvas as a worker meets it: the signatures a message embeds (callbacks, errbacks,
// the rest of a chain, a chord's body) and what Celery 5.2's tracer and Redis backend publish
// and store once a task has ended. Pure functions of the message and the outcome, so the
// worker only has to write what they return, with the task's result and ack, in one script.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "celery/apply.hpp"
#include "celery/envelope.hpp"
#include "celery/records.hpp"

namespace october::celery {

// The Redis result backend's chord bookkeeping, "celery-taskset-meta-<group id>" + ".j" (the
// sorted set of finished parts), ".t" (parts added later) and ".s" (the header's size).
std::string chord_key(std::string_view group_id, std::string_view suffix);
// A part as the backend encodes it in ".j": [1, task id, state, result].
std::string chord_member(std::string_view task_id, TaskState state,
                         const boost::json::value& result);

// A chord header task that ended: what its worker adds to the join, and what it needs to call
// the body when it turns out to be the last part.
struct ChordPart {
  std::string group_id;
  std::optional<std::int64_t> group_index;  // the score in ".j"; none sorts last, as +inf
  std::string member;
  boost::json::value body;  // the chord's body signature
  Lineage lineage;          // the finishing header task: the body's parent
};

// What the last part does: the body called with the results in header order, or, when a
// part failed, ChordError stored as the body's result and the body's errbacks called.
struct ChordFinish {
  std::vector<Publish> publishes;
  std::vector<std::pair<std::string, std::string>> values;   // backend key, value
  std::vector<std::pair<std::string, std::string>> records;  // task id, record
};
ChordFinish finish_chord(const ChordPart& part, const std::vector<std::string>& members,
                         double now);

// What follows a task that ended in `state`, as Celery 5.2 does it: on SUCCESS the callbacks
// (a group when there are several) and the next step of the chain, each given the result and
// each a task, chain, group or chord signature; on FAILURE the same exception stored for
// every task left in the chain and the errbacks sent the failed task's id; on SUCCESS,
// FAILURE and REVOKED its part of a chord.
struct FollowUps {
  std::vector<Publish> publishes;
  std::vector<std::pair<std::string, std::string>> values;   // backend key, value
  std::vector<std::pair<std::string, std::string>> records;  // task id, record
  boost::json::array children;  // the task's record lists what it published first
  std::optional<ChordPart> chord;
};
FollowUps follow_ups(const TaskMessage& message, TaskState state, const boost::json::value& result,
                     const TaskException& exception, double now);

// Python's repr() of the exception a client would rebuild: "ValueError('boom')".
std::string exception_repr(const boost::json::value& exception);

}  // namespace october::celery
