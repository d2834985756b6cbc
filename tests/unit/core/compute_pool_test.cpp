#include "core/compute_pool.hpp"

#include <gtest/gtest.h>

#include <future>

namespace october {
namespace {

TEST(ComputePool, RunsJobs) {
  ComputePool pool(2, 4);
  std::promise<int> result;
  ASSERT_TRUE(pool.try_submit([&] { result.set_value(7); }));
  EXPECT_EQ(result.get_future().get(), 7);
}

TEST(ComputePool, RefusesWhenThreadsAndQueueAreFull) {
  ComputePool pool(1, 1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> running;
  ASSERT_TRUE(pool.try_submit([&] {
    running.set_value();
    gate.wait();
  }));
  running.get_future().wait();                            // the thread is busy
  ASSERT_TRUE(pool.try_submit([gate] { gate.wait(); }));  // fills the queue
  EXPECT_FALSE(pool.try_submit([] {}));
  EXPECT_EQ(pool.rejections(), 1U);
  EXPECT_EQ(pool.queued(), 1U);
  release.set_value();
  pool.shutdown();
  EXPECT_EQ(pool.queued(), 0U);
}

TEST(ComputePool, ShutdownRunsQueuedJobsAndRefusesNewOnes) {
  std::atomic<int> ran{0};
  ComputePool pool(1, 10);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.try_submit([&] { ++ran; }));
  pool.shutdown();
  EXPECT_EQ(ran, 5);
  EXPECT_FALSE(pool.try_submit([] {}));
}

}  // namespace
}  // namespace october

namespace october {
namespace {

TEST(ComputePool, ThenRunsAfterTheThreadIsFreeAgain) {
  // With one thread and no queue, a client answered from `then` may submit again at once.
  ComputePool pool(1, 0);
  std::promise<bool> resubmitted;
  ASSERT_TRUE(pool.try_submit([] {}, [&] { resubmitted.set_value(pool.try_submit([] {})); }));
  EXPECT_TRUE(resubmitted.get_future().get());
}

}  // namespace
}  // namespace october
