#pragma once
// POST /tasks' body: turned into the Celery message it asks for, or into the reason it is refused.
// Pure (no I/O), so the unit tests drive it directly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "celery/envelope.hpp"

namespace october::api {

// Why a body is refused: the error code and detail of the 400 answer.
struct InvalidSubmission {
  std::string code;
  std::string detail;
};

// The limits a submission must keep; the request schema of POST /tasks documents the same.
constexpr std::int64_t kMaxCountdownSeconds = 86400;
constexpr std::int64_t kMaxExpiresSeconds = 31536000;
constexpr std::int64_t kMaxPriority = 9;
constexpr std::size_t kMaxQueueLength = 128;

// The message for `body` ({name, args, kwargs, countdown, expires, priority, queue}), its eta and
// expiry counted from `now` (Unix seconds); throws InvalidSubmission.
celery::TaskMessage parse_submission(std::string_view body, double now);

}  // namespace october::api
