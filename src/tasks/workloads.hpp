#pragma once
// The CPU workloads behind the api's /compute/* and /burn and the worker's tasks.
#include <atomic>
#include <cstdint>
#include <string>

namespace october {

// The n-th prime, 1-based (nth_prime(1) == 2). Single-threaded: the pool provides parallelism.
std::uint64_t nth_prime(std::uint64_t n);

// F(0)=0, F(1)=1; exact for n <= 92, the largest that fits in a signed 64-bit integer.
std::uint64_t fibonacci_iterative(unsigned n);
// The exponential textbook recursion, kept on purpose as a CPU burner.
std::uint64_t fibonacci_recursive(unsigned n);

// SHA-256 of data_size_kb * 1024 bytes of 'x', then SHA-256 of the previous 32-byte digest
// until `iterations` digests were computed; lower-case hex of the last.
std::string sha256_chain(std::uint64_t iterations, std::uint64_t data_size_kb);

// Spins the calling thread for `seconds` of wall time (or until `stop`); returns the CPU
// seconds the thread used.
double burn_cpu(double seconds, const std::atomic<bool>* stop);

}  // namespace october
