#pragma once
// The Redis names kombu and Celery agree on: queue lists and their priority sub-queues, the
// routing table, the unacked bookkeeping, dead letters and result keys; and the QUEUES setting.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace october::celery {

// Redis list of a queue at a priority: the bare name for 0, "<queue>\x06\x16<p>" otherwise.
std::string queue_key(std::string_view queue, std::int64_t priority);
// The lists a consumer of `queue` reads, highest priority (lowest number) first.
std::vector<std::string> queue_keys(std::string_view queue);
// The queue a list belongs to: "celery\x06\x166" -> "celery".
std::string queue_of_key(std::string_view key);
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

// "a, b,,c" -> {"a", "b", "c"}: comma-separated, spaces around names ignored, empty entries
// skipped. Throws std::invalid_argument for a name outside [A-Za-z0-9._:-] or an empty list.
std::vector<std::string> parse_queues(const std::string& text);

}  // namespace october::celery
