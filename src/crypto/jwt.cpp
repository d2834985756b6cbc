#include "crypto/jwt.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <optional>
#include <vector>

#include "core/json_text.hpp"
#include "core/parse.hpp"
#include "crypto/base64.hpp"
#include "crypto/digest.hpp"

namespace october::crypto {

namespace json = boost::json;

namespace {

constexpr std::string_view kAlgorithm = "HS256";

Verified refuse(TokenError error, std::string detail) {
  return {.error = error, .detail = std::move(detail), .claims = {}};
}

// A base64url segment holding a JSON object, or nullopt.
std::optional<json::object> decode_object(std::string_view segment) {
  auto text = base64url_decode(segment);
  if (!text) return std::nullopt;
  json::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

// A NumericDate claim: nullopt when absent, NaN when present but not a number.
std::optional<double> numeric_date(const json::object& claims, std::string_view name) {
  const auto* value = claims.if_contains(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) return std::nan("");
  return value->to_number<double>();
}

}  // namespace

std::string sign_hs256(const json::object& claims, std::string_view secret) {
  const json::object header{{"alg", kAlgorithm}, {"typ", "JWT"}};
  std::string signing_input =
      base64url_encode(to_json(header)) + "." + base64url_encode(to_json(claims));
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

std::string_view error_code(TokenError error) {
  switch (error) {
    case TokenError::none:
      return "valid";
    case TokenError::malformed:
      return "malformed_token";
    case TokenError::unsupported_algorithm:
      return "unsupported_algorithm";
    case TokenError::bad_signature:
      return "bad_signature";
    case TokenError::missing_claim:
      return "missing_claim";
    case TokenError::expired:
      return "token_expired";
    case TokenError::not_yet_valid:
      return "token_not_yet_valid";
  }
  return "invalid_token";
}

Verified verify_hs256(std::string_view token, std::string_view secret, std::int64_t now_unix) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  for (std::size_t dot = token.find('.'); dot != std::string_view::npos;
       dot = token.find('.', start)) {
    segments.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  segments.push_back(token.substr(start));
  if (segments.size() != 3) {
    return refuse(TokenError::malformed,
                  "a JWT is three base64url segments joined by '.'; this one has " +
                      std::to_string(segments.size()));
  }
  auto header = decode_object(segments[0]);
  if (!header) {
    return refuse(TokenError::malformed, "the header is not a base64url-encoded JSON object");
  }
  const auto* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != kAlgorithm) {
    std::string named = alg == nullptr ? "no alg" : "alg " + to_json(*alg);
    return refuse(TokenError::unsupported_algorithm,
                  "the header has " + named + "; only HS256 is accepted");
  }
  if (header->contains("crit")) {
    return refuse(TokenError::unsupported_algorithm,
                  "the header lists crit extensions, and none is supported");
  }
  auto signature = base64url_decode(segments[2]);
  if (!signature) return refuse(TokenError::malformed, "the signature is not base64url");
  std::string_view signing_input = token.substr(0, segments[0].size() + 1 + segments[1].size());
  if (!equal_constant_time(*signature, hmac_sha256(secret, signing_input))) {
    return refuse(TokenError::bad_signature,
                  "the HS256 signature does not match: the token was altered or signed with "
                  "another secret");
  }
  auto claims = decode_object(segments[1]);
  if (!claims) {
    return refuse(TokenError::malformed, "the payload is not a base64url-encoded JSON object");
  }
  const auto now = static_cast<double>(now_unix);
  auto exp = numeric_date(*claims, "exp");
  if (!exp) return refuse(TokenError::missing_claim, "the token has no exp claim");
  if (std::isnan(*exp)) {
    return refuse(TokenError::malformed, "exp must be a number of seconds since the epoch");
  }
  if (*exp <= now) {
    return refuse(TokenError::expired, "the token expired at " + format_double(*exp) + " (now " +
                                           std::to_string(now_unix) + ")");
  }
  if (auto nbf = numeric_date(*claims, "nbf")) {
    if (std::isnan(*nbf)) {
      return refuse(TokenError::malformed, "nbf must be a number of seconds since the epoch");
    }
    if (*nbf > now) {
      return refuse(TokenError::not_yet_valid, "the token is not valid before " +
                                                   format_double(*nbf) + " (now " +
                                                   std::to_string(now_unix) + ")");
    }
  }
  return {.error = TokenError::none, .detail = {}, .claims = std::move(*claims)};
}

}  // namespace october::crypto
