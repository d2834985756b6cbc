#pragma once
// Time as Celery writes it: ISO-8601 text in eta/expires headers and in date_done.
#include <string>
#include <string_view>

namespace october::celery {

// Unix seconds of an ISO-8601 timestamp ("2026-11-28T21:13:19.299499+00:00"; no offset means
// UTC). Throws std::invalid_argument.
double parse_iso8601(std::string_view text);
// "2026-11-28T21:13:19.299499+00:00" with the offset, or naive UTC without it (date_done).
std::string format_iso8601(double unix_seconds, bool with_offset);
double now_unix();

}  // namespace october::celery
