#include "worker/mingle.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "worker/ledger.hpp"

namespace october::worker {
namespace {

namespace json = boost::json;

double monotonic_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool holds(const json::value& ids, std::string_view id) {
  const auto& list = ids.as_array();
  return std::find(list.begin(), list.end(), json::value(id)) != list.end();
}

TEST(Mingle, MergesTheOtherNodesRevokedIdsAndClocks) {
  TaskLedger ledger("late@test", 1);
  celery::LamportClock clock;
  Commands commands(ledger, {.hostname = "late@test"}, clock, {});
  const double now = monotonic_now();
  std::vector<json::object> replies = {
      // A Python worker's answer: its LimitedSet's data, {id: [time, id]}.
      {{"celery@py", {{"revoked", {{"r-py", json::array{now, "r-py"}}}}, {"clock", 40}}}},
      // An october worker's, and one from a node with nothing to say (null), and our own.
      {{"october@a", {{"revoked", {{"r-oct", json::array{now, "r-oct"}}}}, {"clock", 7}}}},
      {{"quiet@b", nullptr}},
      {{"late@test", {{"revoked", {{"r-self", json::array{now, "r-self"}}}}}}}};
  EXPECT_EQ(merge_hello_replies(commands, clock, replies), 2U);
  const json::value revoked = commands.run("revoked", {});
  EXPECT_TRUE(holds(revoked, "r-py"));
  EXPECT_TRUE(holds(revoked, "r-oct"));
  EXPECT_FALSE(holds(revoked, "r-self"));
  EXPECT_GT(clock.value(), 40);  // moved past the largest clock received
}

TEST(Mingle, NoAnswersMergeNothing) {
  TaskLedger ledger("alone@test", 1);
  celery::LamportClock clock;
  Commands commands(ledger, {.hostname = "alone@test"}, clock, {});
  EXPECT_EQ(merge_hello_replies(commands, clock, {}), 0U);
  EXPECT_TRUE(commands.run("revoked", {}).as_array().empty());
}

}  // namespace
}  // namespace october::worker
