#include "tasks/workloads.hpp"

#include <openssl/sha.h>
#include <time.h>

#include <array>
#include <chrono>
#include <primesieve.hpp>
#include <string>

namespace october {

std::uint64_t nth_prime(std::uint64_t n) {
  // primesieve would spread one call over every core; parallelism comes from our pools instead.
  static const bool single_threaded = (primesieve::set_num_threads(1), true);
  (void)single_threaded;
  return primesieve::nth_prime(static_cast<std::int64_t>(n));
}

std::uint64_t fibonacci_iterative(unsigned n) {
  std::uint64_t previous = 0;
  std::uint64_t current = 1;
  if (n == 0) return 0;
  for (unsigned i = 1; i < n; ++i) {
    std::uint64_t next = previous + current;
    previous = current;
    current = next;
  }
  return current;
}

std::uint64_t fibonacci_recursive(unsigned n) {
  return n < 2 ? n : fibonacci_recursive(n - 1) + fibonacci_recursive(n - 2);
}

std::string sha256_chain(std::uint64_t iterations, std::uint64_t data_size_kb) {
  std::string data(data_size_kb * 1024, 'x');
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  for (std::uint64_t i = 1; i < iterations; ++i) {
    SHA256(digest.data(), digest.size(), digest.data());
  }
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (unsigned char byte : digest) {
    out += hex[byte >> 4];
    out += hex[byte & 0xF];
  }
  return out;
}

namespace {
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

double burn_cpu(double seconds, const std::atomic<bool>* stop) {
  const double cpu_start = thread_cpu_seconds();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  volatile std::uint64_t sink = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    for (int i = 0; i < 10000; ++i) sink = sink * 6364136223846793005ULL + 1442695040888963407ULL;
  }
  return thread_cpu_seconds() - cpu_start;
}

}  // namespace october
