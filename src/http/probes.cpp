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

}  // namespace october::http
