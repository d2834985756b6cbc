#include "core/duration.hpp"

#include <gtest/gtest.h>

namespace october {
namespace {

using std::chrono::milliseconds;

TEST(ToMilliseconds, RoundsToTheNearestMillisecond) {
  EXPECT_EQ(to_milliseconds(0), milliseconds(0));
  EXPECT_EQ(to_milliseconds(1), milliseconds(1000));
  EXPECT_EQ(to_milliseconds(0.2), milliseconds(200));
  // 1.005 * 1000 is just below 1005 as a double: truncation would give 1004.
  EXPECT_EQ(to_milliseconds(1.005), milliseconds(1005));
  EXPECT_EQ(to_milliseconds(0.0004), milliseconds(0));
  EXPECT_EQ(to_milliseconds(0.0006), milliseconds(1));
  EXPECT_EQ(to_milliseconds(3600), milliseconds(3600000));
}

}  // namespace
}  // namespace october
