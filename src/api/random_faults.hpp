#pragma once
// Random faults for canary and mesh drills (RANDOM_DELAY, RANDOM_ERROR_PERCENT): a delay drawn
// between two bounds and a share of requests failed with 500, applied to app routes only and
// switchable at run time (POST /fault/random).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

#include "http/router.hpp"

namespace october::api {

struct DelayRange {
  std::int64_t min_ms = 0;
  std::int64_t max_ms = 0;
  friend bool operator==(const DelayRange&, const DelayRange&) = default;
};

inline constexpr std::int64_t max_random_delay_ms = 60000;

// RANDOM_DELAY: "" (off), "N" (always N ms) or "MIN-MAX" in ms, each 0..60000, MIN <= MAX.
// Throws std::invalid_argument saying what is accepted.
DelayRange parse_delay_range(std::string_view text);

class RandomFaults {
 public:
  // What one request gets: a delay (zero for none) and whether it then fails.
  struct Draw {
    std::chrono::milliseconds delay{0};
    bool error = false;
  };

  // Both may change while requests read them; each is read whole, never half-updated.
  void set(DelayRange delay, double error_percent);
  [[nodiscard]] DelayRange delay() const;
  [[nodiscard]] double error_percent() const { return error_percent_.load(); }

  [[nodiscard]] Draw draw(std::mt19937_64& rng) const;

  void count(const Draw& draw);
  [[nodiscard]] std::uint64_t delays_injected() const { return delays_.load(); }
  [[nodiscard]] std::uint64_t errors_injected() const { return errors_.load(); }

 private:
  std::atomic<std::uint64_t> delay_{0};  // min_ms in the high 32 bits, max_ms in the low
  std::atomic<double> error_percent_{0.0};
  std::atomic<std::uint64_t> delays_{0};
  std::atomic<std::uint64_t> errors_{0};
};

// Probes, /metrics, the drill switches (always_available), /version and /openapi.json are what
// the drills are watched and steered through, so they never get random faults.
bool random_faults_apply(const http::Route& route);

// The route with its handler behind the random faults, or unchanged when they never apply.
http::Route with_random_faults(http::Route route, RandomFaults& faults);

}  // namespace october::api
