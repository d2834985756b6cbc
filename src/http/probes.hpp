#pragma once
// The probe and metrics routes of every october HTTP listener, and the answers they give.
#include <functional>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

namespace october::http {

// 200 {"ready":true} when `reason` is empty, else 503 {"ready":false,"error":"not_ready",...}.
Response readiness_response(std::string_view reason);
Response liveness_response();
Response metrics_response(const metrics::Registry& registry);

// What a listener's probes answer from. The functions run on the I/O threads: they must only
// read cached state.
struct ProbeAnswers {
  const metrics::Registry& registry;
  // Why the process is not ready, or empty when it is.
  std::function<std::string()> not_ready_reason;
  // Set only where liveness can fail on purpose: why it fails now, or empty.
  std::function<std::string()> liveness_failure;
};

// GET /healthz, /ready, /readyz and /metrics, in that order. They stay up under fault injection,
// so a drill never makes Kubernetes restart the pod or lose its metrics.
void add_probe_routes(Router& router, const ProbeAnswers& answers);

}  // namespace october::http
