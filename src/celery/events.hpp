#pragma once
// Celery's monitoring events (celery.events.Event): a flat JSON object with "type"
// ("task-succeeded", "worker-heartbeat", ...), hostname, utcoffset, pid, clock and timestamp,
// published as a kombu message on the fanout exchange "celeryev" with the type as routing key
// ("task.succeeded"): PUBLISH "/<db>.celeryev/task.succeeded".
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace october::celery {

inline constexpr std::string_view kEventExchange = "celeryev";
// Celery's worker_heartbeat default (EventDispatcher freq): a heartbeat every 2 s.
inline constexpr double kHeartbeatSeconds = 2.0;

struct EventSource {
  std::string hostname;
  std::int64_t pid = 0;
  std::int64_t utcoffset = 0;  // hours, Celery's sign (west of UTC is positive)
};

// Celery's utcoffset() for the local time zone now.
std::int64_t local_utcoffset();
// The event: Celery's own fields first, then `fields`, then timestamp and type.
boost::json::object make_event(std::string_view type, const EventSource& source, std::int64_t clock,
                               double timestamp, const boost::json::object& fields);
// "task-succeeded" -> "task.succeeded".
std::string event_routing_key(std::string_view type);
// The kombu message carrying one event (headers {"hostname"}, transient).
std::string encode_event(const boost::json::object& event, std::string_view hostname);
// The worker-online/heartbeat/offline fields besides Celery's own: freq, active, processed,
// loadavg and the software it runs.
boost::json::object worker_fields(std::int64_t active, std::int64_t processed,
                                  std::string_view sw_ver);

}  // namespace october::celery
