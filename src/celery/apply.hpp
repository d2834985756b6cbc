#pragma once
// Signature.apply_async as a Celery 5.2 worker calls it on a callback, an errback, the next
// step of a chain or a chord's body: the messages a task, chain, group or chord signature
// turns into, and the values the Redis result backend keeps for them. Pure functions of the
// signature, so the worker writes what they return together with the result that caused it.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "celery/envelope.hpp"

namespace october::celery {

// celery.canvas.Signature as JSON: {"task", "args", "kwargs", "options", "subtask_type",
// "immutable"}. A chain's or group's steps are in kwargs.tasks, a chord's parts in
// kwargs.header and kwargs.body.
struct Signature {
  std::string task;
  boost::json::array args;
  boost::json::object kwargs;
  boost::json::object options;
  std::string subtask_type;  // empty for a task; "chain", "group", "chord" for the others
  bool immutable = false;
};

// A signature's option, or null when it is absent or None; the same when it is a string.
const boost::json::value* option(const boost::json::object& options, std::string_view name);
std::optional<std::string> string_option(const boost::json::object& options, std::string_view name);

// Nullopt unless `value` is an object naming a task.
std::optional<Signature> parse_signature(const boost::json::value& value);
// embed.callbacks and friends: null, one signature, or a list of them.
std::vector<Signature> parse_signatures(const boost::json::value& value);
// Signature._merge: the partial arguments go before the signature's own, unless immutable.
boost::json::array merged_args(const Signature& signature, const boost::json::array& partial);

// Who publishes a message: the ids it records as parent_id and root_id.
struct Lineage {
  std::string parent_id;
  std::string root_id;
  // The tracer passes them explicitly (they win over the signature's options); a chord body
  // is sent with delay(), where the signature's own options win.
  bool overrides = true;
};

// The message Signature.apply_async(partial_args) publishes for a task signature: its options
// (task_id, queue, routing_key, priority, countdown, eta, expires, time_limit,
// soft_time_limit, link, link_error, group_id, group_index, chord, chain, reply_to,
// ignore_result) applied as Celery's send_task applies them at `now`.
TaskMessage message_for(const Signature& signature, const boost::json::array& partial_args,
                        const Lineage& lineage, double now);

// A message to LPUSH, with the queue whose routing-table entry it relies on.
struct Publish {
  std::string queue;
  std::string queue_key;
  std::string envelope;
};
Publish publish_of(TaskMessage& message);

// What applying signatures writes: the messages, and the backend values set beside them (a
// chord's header size, "celery-taskset-meta-<group id>.s", which its parts' join reads).
struct Applied {
  std::vector<Publish> publishes;
  std::vector<std::pair<std::string, std::string>> values;  // backend key, value
};

// Applies a signature of any kind with `partial` before its first task's arguments, and
// `chain_rest` (the rest of an enclosing chain, reversed; null when none) after it. Returns
// the result tuple the applying task's record lists among its children: [[id, null], null]
// for a task or chain (its first task), [[group id, null], [members]] for a group or chord.
boost::json::value apply_signature(Applied& out, const Signature& signature,
                                   const boost::json::array& partial, const Lineage& lineage,
                                   double now, const boost::json::value& chain_rest = nullptr);

// Signatures applied as one group with the given id (each member's own group_id kept), as the
// backend applies a failed task's errbacks and Celery a group signature.
boost::json::value apply_group(Applied& out, const std::vector<Signature>& members,
                               const std::string& group_id, const boost::json::array& partial,
                               const Lineage& lineage, double now,
                               const boost::json::value& chain_rest = nullptr);

// Several signatures as the tracer applies a task's callbacks: one alone; several as one group
// (a shared group id) with group signatures applied each on its own. Returns the child tuples
// the task's record lists.
boost::json::array apply_callbacks(Applied& out, const std::vector<Signature>& signatures,
                                   const boost::json::array& partial, const Lineage& lineage,
                                   double now);

}  // namespace october::celery
