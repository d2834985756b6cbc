#include "celery/timestamps.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace october::celery {
namespace {

TEST(Timestamps, Iso8601) {
  EXPECT_DOUBLE_EQ(parse_iso8601("1970-01-01T00:00:00+00:00"), 0);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-11-28T21:13:19.5+00:00"), 1795900399.5);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-11-28T23:13:19.5+02:00"), 1795900399.5);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-11-28T21:13:19.5"), 1795900399.5);
  EXPECT_THROW(parse_iso8601("yesterday"), std::invalid_argument);
  EXPECT_THROW(parse_iso8601("2026-13-01T00:00:00"), std::invalid_argument);
  EXPECT_EQ(format_iso8601(1795900399.299499, true), "2026-11-28T21:13:19.299499+00:00");
  EXPECT_EQ(format_iso8601(1795900399.299499, false), "2026-11-28T21:13:19.299499");
}

}  // namespace
}  // namespace october::celery
