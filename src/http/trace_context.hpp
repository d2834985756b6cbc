#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header a request
// brings, and the one this server answers and passes on. Only what the spec fixes is kept
// (trace id, parent id, the sampled flag); `tracestate` is not interpreted.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace october::http {

struct TraceParent {
  std::string trace_id;   // 32 lowercase hex digits, not all zeros
  std::string parent_id;  // 16 lowercase hex digits, not all zeros
  std::uint8_t flags = 0;
};

// A traceparent value as the spec's parsing rules accept it, or nullopt for one that must be
// ignored: version 00 exactly, and later versions (not ff) by their first four fields, so a
// future version's additions do not break the trace.
std::optional<TraceParent> parse_traceparent(std::string_view value);

// "00-<trace id>-<parent id>-<flags>", the version this server speaks.
std::string format_traceparent(const TraceParent& context);

// Random ids of the spec's lengths, never all zeros.
std::string new_trace_id();
std::string new_span_id();

// This server's span of a request: the caller's trace continued with a new span id, or a new
// sampled trace when the caller sent none or an invalid one.
TraceParent continue_trace(std::string_view incoming);

}  // namespace october::http
