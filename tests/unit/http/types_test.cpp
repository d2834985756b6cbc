#include "http/types.hpp"

#include <gtest/gtest.h>

#include "support/capturing_channel.hpp"

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

TEST(Types, StreamWithoutASocketIsCollectedIntoOneResponse) {
  auto channel = std::make_shared<testing::CapturingChannel>();
  Responder out(channel);
  Response head;
  head.status = 201;
  head.content_type = "text/plain";
  head.body = "ignored";
  auto writer = out.stream(head);
  std::vector<bool> written;
  writer->write_chunk("ab", [&](bool ok) { written.push_back(ok); });
  writer->write_chunk("cd", [&](bool ok) { written.push_back(ok); });
  EXPECT_TRUE(channel->responses.empty());
  writer->finish();
  writer->write_chunk("late", [&](bool ok) { written.push_back(ok); });
  ASSERT_EQ(channel->responses.size(), 1U);
  EXPECT_EQ(channel->responses[0].status, 201);
  EXPECT_EQ(channel->responses[0].content_type, "text/plain");
  EXPECT_EQ(channel->responses[0].body, "abcd");
  EXPECT_EQ(written, (std::vector<bool>{true, true, false}));
  // Dropping an unfinished writer finishes it.
  auto dropped = out.stream(Response{});
  dropped->write_chunk("x", [](bool) {});
  dropped.reset();
  ASSERT_EQ(channel->responses.size(), 2U);
  EXPECT_EQ(channel->responses[1].body, "x");
}

}  // namespace october::http
