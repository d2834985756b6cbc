// What a request and the process look like from inside: GET /headers, GET /env and POST /echo,
// the endpoints ingress, mesh and proxy drills check their rewrites against.
#include <unistd.h>

#include <algorithm>

#include "api/inspect.hpp"
#include "api/routes.hpp"

namespace october::api {

void register_inspect(http::Router& router, const ApiState& state) {
  router.add({.method = "GET",
              .path = "/headers",
              .summary = "The request's header fields: lower-cased name → value, or a list of the "
                         "values in the order received when a field came more than once",
              .handler = [](Request& request, const Params&, const Responder& out) {
                out.send(json_response(headers_json(request.headers)));
              }});
  router.add({.method = "GET",
              .path = "/env",
              .summary = "The process environment: name → value, with values of names containing "
                         "PASSWORD, SECRET, TOKEN or KEY and the passwords of URLs shown as ***",
              .handler = [](Request&, const Params&, const Responder& out) {
                out.send(json_response(environment_json(environ)));
              }});
  // The server has already refused a body beyond MAX_BODY_BYTES, so that bounds echo too.
  const auto limit = static_cast<std::size_t>(
      std::min(state.config.echo_max_bytes, state.config.common.max_body_bytes));
  router.add({.method = "POST",
              .path = "/echo",
              .summary = "The request body, answered with the request's Content-Type "
                         "(application/octet-stream when it had none); 413 beyond ECHO_MAX_BYTES",
              .error_statuses = {413},
              .handler = [limit](Request& request, const Params&, const Responder& out) {
                if (request.body.size() > limit) {
                  out.send(http::json_error(413, "body_too_large",
                                            "the body has " + std::to_string(request.body.size()) +
                                                " bytes; POST /echo takes 0 to " +
                                                std::to_string(limit) + " bytes (ECHO_MAX_BYTES)"));
                  return;
                }
                Response response;
                response.content_type = request.content_type.empty() ? "application/octet-stream"
                                                                     : request.content_type;
                response.body = std::move(request.body);
                out.send(std::move(response));
              }});
}

}  // namespace october::api
