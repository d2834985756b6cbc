#include "http/trace_context.hpp"

#include <gtest/gtest.h>

#include <string>

namespace october::http {

namespace {
// The example of the W3C spec.
constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
}  // namespace

TEST(TraceContext, ParsesVersion00) {
  auto parsed = parse_traceparent(kValid);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parsed->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(parsed->flags, 1);
  EXPECT_EQ(format_traceparent(*parsed), kValid);
  auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_EQ(unsampled->flags, 0);
}

TEST(TraceContext, RefusesUppercaseHex) {
  EXPECT_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_FALSE(parse_traceparent("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"));
}

TEST(TraceContext, RefusesWrongLengthsAndSeparators) {
  EXPECT_FALSE(parse_traceparent(""));
  // Trace id one short, parent id one long: the total still 55, the dashes out of place.
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"));
  EXPECT_FALSE(parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
  // Version 00 has no room for more fields, nor for trailing spaces.
  EXPECT_FALSE(parse_traceparent(std::string(kValid) + "-extra"));
  EXPECT_FALSE(parse_traceparent(std::string(kValid) + " "));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
}

TEST(TraceContext, RefusesAllZeroIds) {
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
}

TEST(TraceContext, RefusesVersionFf) {
  EXPECT_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(TraceContext, FutureVersionsParseTheirFirstFourFields) {
  auto later = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  auto longer =
      parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next");
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->parent_id, "00f067aa0ba902b7");
  // What follows the flags must start with a dash, and the fields keep their lengths.
  EXPECT_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
  EXPECT_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"));
}

TEST(TraceContext, ContinuesAValidTraceWithANewSpan) {
  TraceParent span = continue_trace(kValid);
  EXPECT_EQ(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(span.parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(span.flags, 1);
  EXPECT_TRUE(parse_traceparent(format_traceparent(span)));
  // Flags other than sampled are not passed on.
  EXPECT_EQ(continue_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe").flags, 0);
}

TEST(TraceContext, StartsANewTraceForMissingOrInvalidHeaders) {
  for (std::string_view incoming :
       {std::string_view{},
        std::string_view{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        std::string_view{"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}) {
    TraceParent span = continue_trace(incoming);
    EXPECT_NE(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(span.trace_id.size(), 32U);
    EXPECT_EQ(span.parent_id.size(), 16U);
    auto round_trip = parse_traceparent(format_traceparent(span));
    ASSERT_TRUE(round_trip) << format_traceparent(span);
    EXPECT_EQ(round_trip->trace_id, span.trace_id);
  }
  EXPECT_NE(new_trace_id(), new_trace_id());
}

}  // namespace october::http
