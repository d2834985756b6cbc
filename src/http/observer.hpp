#pragma once
// Per-request bookkeeping shared by every october HTTP listener: the RED metrics and the
// access log line.
#include <cstdint>
#include <string_view>

#include "core/metrics.hpp"
#include "http/server.hpp"
#include "http/types.hpp"

namespace october::http {

class MetricsObserver final : public RequestObserver {
 public:
  explicit MetricsObserver(metrics::Registry& registry);
  void on_start() override;
  void on_complete(const Request& request, int status, double seconds) override;

  // The bounded method label: the standard verbs, else "OTHER".
  static std::string_view method_label(std::string_view method);
  [[nodiscard]] double in_flight() const { return in_flight_.value(); }

 private:
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& durations_;
  metrics::Gauge& in_flight_;
  std::uint64_t id_ = 0;  // tells apart the series caches of observers that reuse an address
};

}  // namespace october::http
