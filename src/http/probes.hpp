#pragma once
// Answers shared by every october HTTP listener's probe and metrics routes.
#include <string_view>

#include "core/metrics.hpp"
#include "http/types.hpp"

namespace october::http {

// 200 {"ready":true} when `reason` is empty, else 503 {"ready":false,"error":"not_ready",...}.
Response readiness_response(std::string_view reason);
Response liveness_response();
Response metrics_response(const metrics::Registry& registry);

}  // namespace october::http
