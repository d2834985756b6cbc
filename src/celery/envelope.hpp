#pragma once
// The Celery protocol 2 message, as Celery 5.2 / kombu 5.2 write it on Redis (see the wire
// notes in the design docs): the envelope with its headers and properties around a base64 body
// of [args, kwargs, embed].
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace october::celery {

struct MalformedMessage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TaskMessage {
  std::string id;
  std::string task;
  boost::json::array args;
  boost::json::object kwargs;
  boost::json::object embed{
      {"callbacks", nullptr}, {"errbacks", nullptr}, {"chain", nullptr}, {"chord", nullptr}};
  std::optional<std::string> eta;      // ISO-8601 with offset
  std::optional<std::string> expires;  // ISO-8601 with offset
  std::int64_t retries = 0;
  std::optional<double> hard_time_limit;
  std::optional<double> soft_time_limit;
  std::string root_id;
  std::optional<std::string> parent_id;
  std::optional<std::string> group;
  std::optional<std::int64_t> group_index;  // a chord header task's place in the header
  std::string origin;
  // W3C traceparent of the producer's span, a message header as OpenTelemetry's Celery
  // instrumentation injects it (Celery itself has no field for it).
  std::optional<std::string> traceparent;
  bool ignore_result = false;
  std::int64_t priority = 0;
  std::string exchange;
  std::string routing_key = "celery";
  std::string delivery_tag;
  std::string reply_to;
  bool redelivered = false;
};

// The JSON text a producer LPUSHes. Fills id, root_id, delivery_tag, reply_to when empty.
std::string encode_envelope(TaskMessage& message);
// Parses an envelope; throws MalformedMessage naming what is wrong.
TaskMessage decode_envelope(std::string_view raw);
// Marks an envelope as redelivered (headers and delivery_info), keeping everything else.
std::string mark_redelivered(std::string_view raw);

std::string make_uuid4();

// Python's repr of args/kwargs, for the argsrepr/kwargsrepr headers that Flower shows.
std::string python_repr(const boost::json::value& value, bool as_tuple = false);

}  // namespace october::celery
