#include "http/trace_context.hpp"

#include <algorithm>
#include <random>

namespace october::http {

namespace {

constexpr std::size_t kVersion00Length = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
constexpr std::uint8_t kSampled = 0x01;

// The spec allows lowercase hex only; uppercase is an invalid header, not a variant spelling.
bool lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zeros(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '0'; });
}

std::uint8_t hex_byte(std::string_view two) {
  auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  return static_cast<std::uint8_t>(digit(two[0]) * 16 + digit(two[1]));
}

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out(digits, '0');
  while (all_zeros(out)) {
    for (std::size_t i = 0; i < digits; i += 16) {
      std::uint64_t bits = random();
      for (std::size_t j = i; j < std::min(digits, i + 16); ++j, bits >>= 4)
        out[j] = hex[bits & 0xF];
    }
  }
  return out;
}

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view value) {
  if (value.size() < kVersion00Length) return std::nullopt;
  const std::string_view version = value.substr(0, 2);
  if (!lower_hex(version) || version == "ff") return std::nullopt;
  // Version 00 is exactly 55 characters; a later one may append fields after a '-'.
  if (version == "00" ? value.size() != kVersion00Length
                      : value.size() > kVersion00Length && value[kVersion00Length] != '-') {
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (!lower_hex(trace_id) || !lower_hex(parent_id) || !lower_hex(flags)) return std::nullopt;
  if (all_zeros(trace_id) || all_zeros(parent_id)) return std::nullopt;
  return TraceParent{std::string(trace_id), std::string(parent_id), hex_byte(flags)};
}

std::string format_traceparent(const TraceParent& context) {
  constexpr std::string_view hex = "0123456789abcdef";
  std::string flags{hex[context.flags >> 4], hex[context.flags & 0xF]};
  return "00-" + context.trace_id + "-" + context.parent_id + "-" + flags;
}

std::string new_trace_id() { return random_hex(32); }
std::string new_span_id() { return random_hex(16); }

TraceParent continue_trace(std::string_view incoming) {
  if (auto caller = parse_traceparent(incoming)) {
    // Version 00 defines the sampled bit only; the others are not passed on as if understood.
    return {std::move(caller->trace_id), new_span_id(),
            static_cast<std::uint8_t>(caller->flags & kSampled)};
  }
  return {new_trace_id(), new_span_id(), kSampled};
}

}  // namespace october::http
