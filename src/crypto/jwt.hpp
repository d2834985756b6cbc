#pragma once
// JSON Web Tokens (RFC 7519) signed with HMAC-SHA256, the one algorithm accepted: a token is
// checked against a pinned "HS256", never against what its own header asks for, so "none" or an
// asymmetric algorithm cannot be smuggled in (RFC 8725 section 2.1).
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace october::crypto {

// RFC 7518 section 3.2: an HS256 key has at least as many bytes as the hash.
inline constexpr std::size_t kMinHs256SecretBytes = 32;

// header.payload.signature with {"alg":"HS256","typ":"JWT"} and `claims` as the payload.
std::string sign_hs256(const boost::json::object& claims, std::string_view secret);

enum class TokenError {
  none,
  malformed,              // not three base64url segments of JSON objects
  unsupported_algorithm,  // alg other than HS256, or a crit extension
  bad_signature,
  missing_claim,  // no exp: every token this service accepts ends
  expired,
  not_yet_valid,  // nbf in the future
};

struct Verified {
  TokenError error = TokenError::none;
  std::string detail;          // why, when refused
  boost::json::object claims;  // the payload, when accepted
  [[nodiscard]] bool ok() const { return error == TokenError::none; }
};

// "malformed_token", "unsupported_algorithm", ...: the JSON error code for each refusal.
std::string_view error_code(TokenError error);

// Checks the segments, the algorithm, the signature (in constant time), then exp and nbf
// against `now_unix`; a token whose exp equals now has expired.
Verified verify_hs256(std::string_view token, std::string_view secret, std::int64_t now_unix);

}  // namespace october::crypto
