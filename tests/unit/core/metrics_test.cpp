#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace october::metrics {
namespace {

TEST(Metrics, CounterAndGaugeExposition) {
  Registry registry;
  auto& requests = registry.counter("app_requests_total", "Requests.", {"path", "status"});
  requests.labels({"/a", "200"}).inc();
  requests.labels({"/a", "200"}).inc(2);
  requests.labels({"/b", "500"}).inc();
  registry.gauge("app_temperature", "Temp.").get().set(-1.5);
  EXPECT_EQ(registry.expose(),
            "# HELP app_requests_total Requests.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{path=\"/a\",status=\"200\"} 3\n"
            "app_requests_total{path=\"/b\",status=\"500\"} 1\n"
            "# HELP app_temperature Temp.\n"
            "# TYPE app_temperature gauge\n"
            "app_temperature -1.5\n");
}

TEST(Metrics, HistogramIsCumulativeWithInf) {
  Registry registry;
  auto& latency = registry.histogram("lat_seconds", "Latency.", {"m"}, {0.1, 1});
  auto& h = latency.labels({"GET"});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(registry.expose(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{m=\"GET\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{m=\"GET\",le=\"1\"} 3\n"
            "lat_seconds_bucket{m=\"GET\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{m=\"GET\"} 7.65\n"
            "lat_seconds_count{m=\"GET\"} 4\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.counter("x_total", "Line one\nback\\slash", {"v"}).labels({"a\"b\\c\nd"}).inc();
  auto text = registry.expose();
  EXPECT_NE(text.find("# HELP x_total Line one\\nback\\\\slash\n"), std::string::npos);
  EXPECT_NE(text.find(R"(x_total{v="a\"b\\c\nd"} 1)"), std::string::npos);
}

TEST(Metrics, CallbacksAreReadAtScrapeTime) {
  Registry registry;
  double value = 1;
  registry.callback("cb_value", "Callback.", Type::gauge, [&] { return value; });
  value = 42;
  EXPECT_NE(registry.expose().find("cb_value 42\n"), std::string::npos);
}

TEST(Metrics, RejectsDuplicateAndInvalidNamesAndWrongLabelCount) {
  Registry registry;
  registry.counter("dup_total", "x");
  EXPECT_THROW(registry.gauge("dup_total", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter("9bad", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter("bad-name", "x"), std::invalid_argument);
  auto& family = registry.counter("two_total", "x", {"a", "b"});
  EXPECT_THROW(family.labels({"only-one"}), std::invalid_argument);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Registry registry;
  auto& counter = registry.counter("c_total", "x").get();
  auto& histogram = registry.histogram("h_seconds", "x", {}, {1}).get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.inc();
        histogram.observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_DOUBLE_EQ(counter.value(), 40000);
  EXPECT_EQ(histogram.snapshot().cumulative_counts.back(), 40000U);
}

}  // namespace
}  // namespace october::metrics
