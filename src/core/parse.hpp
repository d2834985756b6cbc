#pragma once
// Strict text-to-number conversions shared by configuration and request parameters:
// the whole string must be a finite number, nothing more.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace october {

std::optional<std::int64_t> parse_int(std::string_view text);
std::optional<double> parse_double(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);

// Shortest text that reads back as the same double ("0.1", "5", "1e-05").
std::string format_double(double value);

}  // namespace october
