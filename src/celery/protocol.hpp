#pragma once
// Celery protocol 2 on Redis, as Celery 5.2 / kombu 5.2 write it (see the wire notes in the
// design docs): the message envelope, queue and key names, and result-backend records.
#include <boost/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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
  std::string origin;
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

// Redis list of a queue at a priority: the bare name for 0, "<queue>\x06\x16<p>" otherwise.
std::string queue_key(std::string_view queue, std::int64_t priority);
// The lists a consumer of `queue` reads, highest priority (lowest number) first.
std::vector<std::string> queue_keys(std::string_view queue);
inline constexpr std::int64_t kPriorityLevels[] = {0, 3, 6, 9};
// Priority 0..9 maps onto kombu's four levels.
std::int64_t priority_level(std::int64_t priority);
std::string binding_key(std::string_view queue);
std::string binding_member(std::string_view queue);
std::string dead_letter_key(std::string_view queue);
std::string result_key(std::string_view task_id);

inline constexpr std::string_view kUnackedHash = "unacked";
inline constexpr std::string_view kUnackedIndex = "unacked_index";
inline constexpr std::string_view kUnackedMutex = "unacked_mutex";

std::string make_uuid4();
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// Unix seconds of an ISO-8601 timestamp ("2026-11-28T21:13:19.299499+00:00"; no offset means
// UTC). Throws std::invalid_argument.
double parse_iso8601(std::string_view text);
// "2026-11-28T21:13:19.299499+00:00" with the offset, or naive UTC without it (date_done).
std::string format_iso8601(double unix_seconds, bool with_offset);
double now_unix();

// Python's repr of args/kwargs, for the argsrepr/kwargsrepr headers that Flower shows.
std::string python_repr(const boost::json::value& value, bool as_tuple = false);

// Result-backend records, exactly as Celery's Redis backend writes them.
std::string success_record(std::string_view task_id, const boost::json::value& result);
// `exc_args` is the exception's args: Python re-raises exc_type(*exc_args).
std::string failure_record(std::string_view task_id, std::string_view state,
                           std::string_view exc_type, std::string_view exc_module,
                           const boost::json::array& exc_args, std::string_view traceback);

}  // namespace october::celery
