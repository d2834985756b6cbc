// POST /token and POST /token/validate (tokens.cpp). An HMAC over a few hundred bytes is
// instant, so both answer on the I/O thread.
#include <chrono>

#include "api/routes.hpp"
#include "api/tokens.hpp"

namespace october::api {

namespace {

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void register_token(http::Router& router, const ApiConfig& config) {
  TokenSettings settings{.secret = config.jwt_secret, .ttl_seconds = config.jwt_ttl_seconds};
  router.add({.method = "POST",
              .path = "/token",
              .summary = "Issue an HS256 JWT for {sub} that expires after ttl seconds (default "
                         "and maximum JWT_TTL_SECONDS)",
              .error_statuses = {400, 503},
              .request_schema = token_request_schema(settings.ttl_seconds),
              .handler = [settings](http::Request& request, const http::Params&,
                                    const http::Responder& out) {
                out.send(issue_token(settings, request, now_unix()));
              }});
  router.add({.method = "POST",
              .path = "/token/validate",
              .summary = "Check a JWT from 'Authorization: Bearer' or {token}: HS256 signature, "
                         "exp and nbf; any other alg, none included, is refused with 401",
              .error_statuses = {400, 401, 503},
              .request_schema = validate_request_schema(),
              .handler = [settings](http::Request& request, const http::Params&,
                                    const http::Responder& out) {
                out.send(validate_token(settings, request, now_unix()));
              }});
}

}  // namespace october::api
