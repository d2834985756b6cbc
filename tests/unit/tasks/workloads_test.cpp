#include "tasks/workloads.hpp"

#include <gtest/gtest.h>

namespace october {
namespace {

TEST(NthPrime, KnownValues) {
  EXPECT_EQ(nth_prime(1), 2U);
  EXPECT_EQ(nth_prime(2), 3U);
  EXPECT_EQ(nth_prime(100), 541U);
  EXPECT_EQ(nth_prime(1000), 7919U);
  EXPECT_EQ(nth_prime(1000000), 15485863U);
}

TEST(Fibonacci, IterativeKnownValues) {
  EXPECT_EQ(fibonacci_iterative(0), 0U);
  EXPECT_EQ(fibonacci_iterative(1), 1U);
  EXPECT_EQ(fibonacci_iterative(2), 1U);
  EXPECT_EQ(fibonacci_iterative(10), 55U);
  EXPECT_EQ(fibonacci_iterative(50), 12586269025ULL);
  EXPECT_EQ(fibonacci_iterative(92), 7540113804746346429ULL);
}

TEST(Fibonacci, RecursiveAgreesWithIterative) {
  for (unsigned n = 0; n <= 25; ++n) EXPECT_EQ(fibonacci_recursive(n), fibonacci_iterative(n)) << n;
}

TEST(Sha256Chain, SingleDigestIsPlainSha256) {
  // sha256 of 1024 'x' bytes, computed independently with coreutils.
  EXPECT_EQ(sha256_chain(1, 1), "49abd65bbf7f7e40c7055093ed2e3fd75f2f602f2c5fcf955c213e3135eb03f7");
}

TEST(Sha256Chain, ChainsDigests) {
  EXPECT_NE(sha256_chain(2, 1), sha256_chain(1, 1));
  // Three digests over 2 KiB, computed independently with Python hashlib.
  EXPECT_EQ(sha256_chain(3, 2), "1e1673e6820640d177b2043bcf9cbefccbc31ad79a6c32208fcf09c0945e36b9");
}

TEST(BurnCpu, StopsWhenAsked) {
  std::atomic<bool> stop{true};
  EXPECT_LT(burn_cpu(10.0, &stop), 1.0);
}

}  // namespace
}  // namespace october
