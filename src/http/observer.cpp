#include "http/observer.hpp"

#include <array>
#include <atomic>
#include <unordered_map>

#include "core/log.hpp"

namespace october::http {

namespace {

constexpr std::array<std::string_view, 8> kMethods = {"GET",   "POST",    "PUT",  "DELETE",
                                                      "PATCH", "OPTIONS", "HEAD", "OTHER"};

struct SeriesKey {
  std::uint64_t observer;
  const char* route;  // route labels point into the router's table or a literal: stable
  std::size_t route_size;
  std::size_t method;
  int status;
  bool operator==(const SeriesKey&) const = default;
};

struct SeriesKeyHash {
  std::size_t operator()(const SeriesKey& key) const noexcept {
    std::size_t h = std::hash<const void*>{}(key.route);
    h = h * 31 + key.route_size;
    h = h * 31 + key.method;
    h = h * 31 + static_cast<std::size_t>(key.status);
    return h ^ std::hash<std::uint64_t>{}(key.observer);
  }
};

struct Series {
  metrics::Counter* requests;
  metrics::Histogram* duration;
};

std::size_t method_index(std::string_view method) {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (kMethods[i] == method) return i;
  }
  return kMethods.size() - 1;
}

}  // namespace

MetricsObserver::MetricsObserver(metrics::Registry& registry)
    : requests_(registry.counter("http_requests_total", "HTTP requests answered.",
                                 {"method", "path", "status"})),
      durations_(registry.histogram(
          "http_request_duration_seconds", "Time from a request's last byte read to its answer.",
          {"method", "path", "status"}, {.005, .01, .025, .05, .1, .25, .5, 1, 2, 5})),
      in_flight_(registry.gauge("http_requests_in_flight", "Requests being handled now.").get()) {
  static std::atomic<std::uint64_t> next_id{1};
  id_ = next_id++;
}

std::string_view MetricsObserver::method_label(std::string_view method) {
  return kMethods[method_index(method)];
}

void MetricsObserver::on_start() { in_flight_.inc(); }

void MetricsObserver::on_complete(const Request& request, int status, double seconds) {
  in_flight_.dec();
  // The families lock to find a label set; each I/O thread remembers the series it has used
  // so the hot path is two atomic adds.
  thread_local std::unordered_map<SeriesKey, Series, SeriesKeyHash> cache;
  std::size_t method = method_index(request.method);
  SeriesKey key{id_, request.route.data(), request.route.size(), method, status};
  auto it = cache.find(key);
  if (it == cache.end()) {
    metrics::Labels labels{std::string(kMethods[method]), std::string(request.route),
                           std::to_string(status)};
    it = cache.emplace(key, Series{&requests_.labels(labels), &durations_.labels(labels)}).first;
  }
  it->second.requests->inc();
  it->second.duration->observe(seconds);
  if (log::enabled(log::Level::info)) {
    log::info("request", {{"method", request.method},
                          {"path", request.path},
                          {"route", request.route},
                          {"status", status},
                          {"duration_ms", seconds * 1000.0},
                          {"request_id", request.request_id},
                          {"trace_id", request.trace_id}});
  }
}

}  // namespace october::http
