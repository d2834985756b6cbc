#include "celery/limited_set.hpp"

#include <gtest/gtest.h>

#include <string>

namespace october::celery {
namespace {

TEST(LimitedSet, KeepsItemsUntilTheBoundIsReached) {
  LimitedSet set(3, 10);
  set.add("a", 0);
  set.add("b", 1);
  // Older than `expires`, but Celery only purges when the set has to make room.
  EXPECT_TRUE(set.contains("a"));
  EXPECT_EQ(set.size(), 2U);
}

TEST(LimitedSet, BoundDropsExpiredThenOldest) {
  LimitedSet set(3, 10);
  set.add("a", 0);
  set.add("b", 5);
  set.add("c", 12);  // reaching maxlen purges: "a" is 12 s old, past expires
  EXPECT_FALSE(set.contains("a"));
  EXPECT_TRUE(set.contains("b"));
  EXPECT_TRUE(set.contains("c"));
  set.add("d", 13);
  set.add("e", 14);  // none expired: the bound alone drops the oldest
  EXPECT_EQ(set.size(), 3U);
  EXPECT_FALSE(set.contains("b"));
  EXPECT_TRUE(set.contains("e"));
}

TEST(LimitedSet, AddingAgainRefreshesTheTime) {
  LimitedSet set(10, 10);
  set.add("a", 0);
  set.add("b", 1);
  set.add("a", 20);
  set.purge(25);
  EXPECT_TRUE(set.contains("a"));
  EXPECT_FALSE(set.contains("b"));
  auto items = set.items();
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].first, "a");
  EXPECT_EQ(items[0].second, 20);
}

TEST(LimitedSet, NeverGrowsPastMaxlen) {
  LimitedSet set(100, 3600);
  for (int i = 0; i < 1000; ++i) set.add(std::to_string(i), i);
  EXPECT_LE(set.size(), 100U);
  EXPECT_TRUE(set.contains("999"));
  EXPECT_FALSE(set.contains("0"));
}

TEST(LimitedSet, CeleryDefaults) {
  EXPECT_EQ(LimitedSet::kRevokesMax, 50000U);
  EXPECT_EQ(LimitedSet::kRevokeExpires, 10800);
}

}  // namespace
}  // namespace october::celery
