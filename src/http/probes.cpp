#include "http/probes.hpp"

#include <boost/json.hpp>

#include "core/json_text.hpp"

namespace october::http {

Response readiness_response(std::string_view reason) {
  Response response;
  if (reason.empty()) {
    response.body = R"({"ready":true})";
  } else {
    response.status = 503;
    response.body =
        to_json(boost::json::object{{"ready", false}, {"error", "not_ready"}, {"detail", reason}});
  }
  return response;
}

Response liveness_response() {
  Response response;
  response.body = R"({"status":"ok"})";
  return response;
}

Response metrics_response(const metrics::Registry& registry) {
  Response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = registry.expose();
  return response;
}

void add_probe_routes(Router& router, const ProbeAnswers& answers) {
  Route healthz{.method = "GET",
                .path = "/healthz",
                .summary = "Liveness: answers from the I/O thread",
                .always_available = true};
  if (answers.liveness_failure) {
    healthz.error_statuses = {500};
    healthz.handler = [failure = answers.liveness_failure](Request&, const Params&,
                                                           const Responder& out) {
      std::string reason = failure();
      out.send(reason.empty() ? liveness_response() : json_error(500, "unhealthy", reason));
    };
  } else {
    healthz.handler = [](Request&, const Params&, const Responder& out) {
      out.send(liveness_response());
    };
  }
  router.add(std::move(healthz));
  for (const char* path : {"/ready", "/readyz"}) {
    router.add({.method = "GET",
                .path = path,
                .summary = "Readiness: Redis answers PING and the process is not draining",
                .always_available = true,
                .error_statuses = {503},
                .handler = [reason = answers.not_ready_reason](Request&, const Params&,
                                                               const Responder& out) {
                  out.send(readiness_response(reason()));
                }});
  }
  router.add(
      {.method = "GET",
       .path = "/metrics",
       .summary = "Prometheus metrics",
       .always_available = true,
       .handler = [&registry = answers.registry](Request&, const Params&, const Responder& out) {
         out.send(metrics_response(registry));
       }});
}

}  // namespace october::http
