#include "http/types.hpp"

#include <gtest/gtest.h>

namespace october::http {

TEST(Types, HeaderLookupIgnoresCaseAndTakesTheFirstValue) {
  Request request;
  request.headers = {
      {"Accept", "text/html"}, {"X-Forwarded-For", "10.0.0.1"}, {"x-forwarded-for", "10.0.0.2"}};
  EXPECT_EQ(request.header("accept"), "text/html");
  EXPECT_EQ(request.header("X-FORWARDED-FOR"), "10.0.0.1");
  EXPECT_EQ(request.header("Traceparent"), "");
}

TEST(Types, JsonErrorNamesCodeAndDetail) {
  auto response = json_error(422, "bad_field", "n must be 1..10");
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(response.body, R"({"error":"bad_field","detail":"n must be 1..10"})");
}

}  // namespace october::http
