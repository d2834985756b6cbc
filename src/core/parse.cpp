#include "core/parse.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace october {

std::optional<std::int64_t> parse_int(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  for (std::string_view yes : {"true", "1", "yes", "on", "TRUE", "True"}) {
    if (text == yes) return true;
  }
  for (std::string_view no : {"false", "0", "no", "off", "FALSE", "False", ""}) {
    if (text == no) return false;
  }
  return std::nullopt;
}

std::string format_double(double value) {
  // Whole numbers print without exponent ("1000000000", not "1e+09") for readable messages.
  if (std::isfinite(value) && std::abs(value) < 1e15 && value == std::trunc(value)) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  std::array<char, 32> buf{};
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return {buf.data(), ec == std::errc{} ? ptr : buf.data()};
}

}  // namespace october
