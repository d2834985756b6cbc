#include "api/tokens.hpp"

#include <boost/json.hpp>
#include <optional>

#include "api/routes.hpp"
#include "core/json_text.hpp"
#include "crypto/jwt.hpp"

namespace october::api {

namespace json = boost::json;
using http::json_error;
using http::Response;

namespace {

Response not_configured() {
  return json_error(503, "token_disabled",
                    "JWT_SECRET is not set: POST /token and /token/validate need a secret of at "
                    "least " +
                        std::to_string(crypto::kMinHs256SecretBytes) + " bytes");
}

// RFC 6750 section 3: a refused bearer token names the scheme and the error.
Response unauthorized(std::string_view code, std::string_view detail) {
  auto response = json_error(401, code, detail);
  response.headers.emplace_back(
      "WWW-Authenticate", code == "missing_token" ? "Bearer" : R"(Bearer error="invalid_token")");
  return response;
}

std::optional<json::object> body_object(const http::Request& request) {
  json::error_code ec;
  json::value value = json::parse(request.body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

}  // namespace

Response issue_token(const TokenSettings& settings, const http::Request& request,
                     std::int64_t now_unix) {
  if (settings.secret.empty()) return not_configured();
  const std::string sub_range =
      "a string of 1 to " + std::to_string(kMaxSubjectLength) + " characters";
  auto body = body_object(request);
  if (!body) {
    return json_error(
        400, "invalid_body",
        R"(the body must be a JSON object {"sub": ..., "ttl": ...}; sub is )" + sub_range);
  }
  const auto* sub = body->if_contains("sub");
  if (sub == nullptr) return json_error(400, "missing_parameter", "sub is required: " + sub_range);
  if (!sub->is_string() || sub->get_string().empty() ||
      sub->get_string().size() > kMaxSubjectLength) {
    return json_error(400, "invalid_parameter",
                      "sub must be " + sub_range + ", got " + to_json(*sub));
  }
  std::int64_t ttl = settings.ttl_seconds;
  if (const auto* asked = body->if_contains("ttl")) {
    const std::string range =
        "an integer between 1 and " + std::to_string(settings.ttl_seconds) + " (JWT_TTL_SECONDS)";
    if (!asked->is_int64() || asked->get_int64() < 1 || asked->get_int64() > settings.ttl_seconds) {
      return json_error(400, "invalid_parameter",
                        "ttl must be " + range + ", got " + to_json(*asked));
    }
    ttl = asked->get_int64();
  }
  const std::string subject(sub->get_string());
  const std::int64_t exp = now_unix + ttl;
  std::string token =
      crypto::sign_hs256({{"sub", subject}, {"iat", now_unix}, {"exp", exp}}, settings.secret);
  return json_response({{"token", token},
                        {"token_type", "Bearer"},
                        {"sub", subject},
                        {"iat", now_unix},
                        {"exp", exp},
                        {"expires_in", ttl}});
}

Response validate_token(const TokenSettings& settings, const http::Request& request,
                        std::int64_t now_unix) {
  if (settings.secret.empty()) return not_configured();
  std::string token;
  if (std::string_view authorization = request.header("Authorization"); !authorization.empty()) {
    constexpr std::string_view kScheme = "bearer ";
    bool bearer = authorization.size() > kScheme.size();
    for (std::size_t i = 0; bearer && i < kScheme.size(); ++i) {
      bearer = std::tolower(static_cast<unsigned char>(authorization[i])) == kScheme[i];
    }
    if (!bearer) {
      return unauthorized("missing_token",
                          "Authorization must be 'Bearer <token>' (RFC 6750), or send no "
                          R"(Authorization and a JSON body {"token": "..."})");
    }
    token = std::string(authorization.substr(kScheme.size()));
  } else if (auto body = body_object(request); body && body->contains("token")) {
    const auto& value = body->at("token");
    if (!value.is_string()) {
      return json_error(400, "invalid_parameter",
                        "token must be a string (a JWT), got " + to_json(value));
    }
    token = std::string(value.get_string());
  } else {
    return unauthorized(
        "missing_token",
        R"(send the token as 'Authorization: Bearer <token>' or a JSON body {"token": "..."})");
  }
  auto verified = crypto::verify_hs256(token, settings.secret, now_unix);
  if (!verified.ok()) return unauthorized(crypto::error_code(verified.error), verified.detail);
  json::object answer{{"valid", true}};
  if (const auto* sub = verified.claims.if_contains("sub")) answer["sub"] = *sub;
  answer["exp"] = verified.claims.at("exp");
  answer["claims"] = std::move(verified.claims);
  return json_response(answer);
}

std::string token_request_schema(std::int64_t ttl_seconds) {
  return R"({"type": "object", "required": ["sub"], "properties": {
      "sub": {"type": "string", "minLength": 1, "maxLength": )" +
         std::to_string(kMaxSubjectLength) + R"(, "description": "the token's subject"},
      "ttl": {"type": "integer", "minimum": 1, "maximum": )" +
         std::to_string(ttl_seconds) +
         R"(, "description": "seconds until exp; default and maximum JWT_TTL_SECONDS"}}})";
}

std::string validate_request_schema() {
  return R"({"type": "object", "properties": {"token": {"type": "string",
      "description": "the JWT, when no Authorization: Bearer header carries it"}}})";
}

}  // namespace october::api
