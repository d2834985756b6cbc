#pragma once
// POST /token and POST /token/validate as functions of the request, the settings and the clock,
// so every answer is unit-tested without a socket; the JWT itself is crypto/jwt.hpp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/types.hpp"

namespace october::api {

inline constexpr std::size_t kMaxSubjectLength = 256;

struct TokenSettings {
  std::string secret;  // empty: JWT_SECRET is not set and both routes answer 503
  std::int64_t ttl_seconds = 3600;
};

// Body {"sub": "...", "ttl": seconds (optional, 1 to ttl_seconds)}: 200 {token, token_type,
// sub, iat, exp, expires_in}, or 400 naming the field.
http::Response issue_token(const TokenSettings& settings, const http::Request& request,
                           std::int64_t now_unix);

// The token of `Authorization: Bearer <token>`, else of the body {"token": "..."}: 200 {valid,
// sub, exp, claims}, or 401 with the reason as the error code.
http::Response validate_token(const TokenSettings& settings, const http::Request& request,
                              std::int64_t now_unix);

// The JSON Schemas of both bodies, for the OpenAPI document.
std::string token_request_schema(std::int64_t ttl_seconds);
std::string validate_request_schema();

}  // namespace october::api
