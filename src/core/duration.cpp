#include "core/duration.hpp"

#include <cmath>
#include <cstdint>

namespace october {

std::chrono::milliseconds to_milliseconds(double seconds) {
  // Truncating would lose a millisecond whenever the product lands just below a whole number
  // (1.005 * 1000 is 1004.9999999999999).
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

}  // namespace october
