#include "api/tokens.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "crypto/base64.hpp"

namespace october::api {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'800'000'000;
const TokenSettings kSettings{.secret = std::string(32, 's'), .ttl_seconds = 600};

http::Request body_request(std::string body) {
  http::Request request;
  request.method = "POST";
  request.body = std::move(body);
  return request;
}

http::Request bearer(const std::string& token) {
  http::Request request;
  request.method = "POST";
  request.headers.emplace_back("authorization", "Bearer " + token);
  return request;
}

json::object parsed(const http::Response& response) {
  return json::parse(response.body).as_object();
}

std::string issued(std::string body = R"({"sub": "alice"})") {
  auto response = issue_token(kSettings, body_request(std::move(body)), kNow);
  EXPECT_EQ(response.status, 200) << response.body;
  return std::string(parsed(response).at("token").as_string());
}

TEST(Tokens, IssueThenValidate) {
  auto response = issue_token(kSettings, body_request(R"({"sub": "alice", "ttl": 60})"), kNow);
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = parsed(response);
  EXPECT_EQ(body.at("token_type").as_string(), "Bearer");
  EXPECT_EQ(body.at("sub").as_string(), "alice");
  EXPECT_EQ(body.at("exp").as_int64(), kNow + 60);
  EXPECT_EQ(body.at("expires_in").as_int64(), 60);
  std::string token(body.at("token").as_string());

  auto valid = validate_token(kSettings, bearer(token), kNow + 59);
  ASSERT_EQ(valid.status, 200) << valid.body;
  EXPECT_EQ(parsed(valid).at("sub").as_string(), "alice");
  EXPECT_EQ(parsed(valid).at("valid").as_bool(), true);
  auto from_body = validate_token(kSettings, body_request(R"({"token": ")" + token + "\"}"), kNow);
  EXPECT_EQ(from_body.status, 200) << from_body.body;

  auto expired = validate_token(kSettings, bearer(token), kNow + 60);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(parsed(expired).at("error").as_string(), "token_expired");
  EXPECT_EQ(expired.headers.front().second, R"(Bearer error="invalid_token")");
}

TEST(Tokens, DefaultTtlIsTheSetting) {
  std::string token = issued();
  auto payload = crypto::base64url_decode(
      token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  ASSERT_TRUE(payload);
  EXPECT_EQ(json::parse(*payload).at("exp").as_int64(), kNow + 600);
}

TEST(Tokens, BadRequestsNameTheField) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (auto [body, field] :
       {Case{"", "sub"}, Case{"[]", "sub"}, Case{"{}", "sub"}, Case{R"({"sub": ""})", "sub"},
        Case{R"({"sub": 7})", "sub"}, Case{R"({"sub": "a", "ttl": 0})", "ttl"},
        Case{R"({"sub": "a", "ttl": 601})", "ttl"}, Case{R"({"sub": "a", "ttl": 1.5})", "ttl"},
        Case{R"({"sub": "a", "ttl": "60"})", "ttl"}}) {
    auto response = issue_token(kSettings, body_request(body), kNow);
    EXPECT_EQ(response.status, 400) << body;
    std::string detail(parsed(response).at("detail").as_string());
    EXPECT_NE(detail.find(std::string(field) + " "), std::string::npos) << body << ": " << detail;
  }
  auto long_sub =
      issue_token(kSettings, body_request(R"({"sub": ")" + std::string(257, 'x') + "\"}"), kNow);
  EXPECT_EQ(long_sub.status, 400);
  EXPECT_NE(long_sub.body.find("1 to 256"), std::string::npos) << long_sub.body;
  auto ttl_range = issue_token(kSettings, body_request(R"({"sub": "a", "ttl": 601})"), kNow);
  EXPECT_NE(ttl_range.body.find("between 1 and 600 (JWT_TTL_SECONDS)"), std::string::npos)
      << ttl_range.body;
}

TEST(Tokens, WithoutASecretBothRoutesAnswer503) {
  TokenSettings none{.secret = "", .ttl_seconds = 600};
  auto issue = issue_token(none, body_request(R"({"sub": "alice"})"), kNow);
  EXPECT_EQ(issue.status, 503);
  EXPECT_NE(issue.body.find("JWT_SECRET is not set"), std::string::npos) << issue.body;
  EXPECT_EQ(validate_token(none, bearer(issued()), kNow).status, 503);
}

TEST(Tokens, ValidateRefusals) {
  auto missing = validate_token(kSettings, body_request(""), kNow);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(parsed(missing).at("error").as_string(), "missing_token");
  EXPECT_EQ(missing.headers.front().second, "Bearer");

  http::Request basic;
  basic.headers.emplace_back("Authorization", "Basic dXNlcjpwYXNz");
  EXPECT_EQ(parsed(validate_token(kSettings, basic, kNow)).at("error").as_string(),
            "missing_token");
  EXPECT_EQ(validate_token(kSettings, body_request(R"({"token": 5})"), kNow).status, 400);

  std::string none = crypto::base64url_encode(R"({"alg":"none"})") + "." +
                     crypto::base64url_encode(R"({"sub":"a","exp":1900000000})") + ".";
  auto refused = validate_token(kSettings, bearer(none), kNow);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(parsed(refused).at("error").as_string(), "unsupported_algorithm");

  TokenSettings other{.secret = std::string(32, 'o'), .ttl_seconds = 600};
  auto wrong = validate_token(other, bearer(issued()), kNow);
  EXPECT_EQ(parsed(wrong).at("error").as_string(), "bad_signature");
  EXPECT_EQ(parsed(validate_token(kSettings, bearer("a.b"), kNow)).at("error").as_string(),
            "malformed_token");
  // The scheme's name is case-insensitive (RFC 7235 section 2.1).
  http::Request lower;
  lower.headers.emplace_back("Authorization", "bearer " + issued());
  EXPECT_EQ(validate_token(kSettings, lower, kNow).status, 200);
}

}  // namespace
}  // namespace october::api
