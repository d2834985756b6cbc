#pragma once
// Settings give durations as decimal seconds; timers and timeouts take whole milliseconds. One
// conversion, so every setting rounds the same way.
#include <chrono>

namespace october {

// `seconds` rounded to the nearest millisecond (1.005 s is 1005 ms, not 1004).
std::chrono::milliseconds to_milliseconds(double seconds);

}  // namespace october
