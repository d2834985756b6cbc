#pragma once
// A small Prometheus client: counters, gauges and histograms with labels, and the text
// exposition format 0.0.4. Updates are lock-free atomics; only creating a new label set or
// scraping takes a lock.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace october::metrics {

class Counter {
 public:
  void inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1.0) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
};

using Labels = std::vector<std::string>;

enum class Type { counter, gauge, histogram };

// All metrics of one name; a child per distinct label-value tuple.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, Labels label_names, std::vector<double> buckets = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        buckets_(std::move(buckets)) {}

  // The returned reference stays valid for the registry's lifetime: callers may cache it.
  Metric& labels(const Labels& values);
  Metric& get() { return labels({}); }

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& help() const { return help_; }
  [[nodiscard]] const Labels& label_names() const { return label_names_; }

  template <typename Visitor>
  void for_each(Visitor&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, metric] : children_) visit(values, *metric);
  }

 private:
  std::string name_;
  std::string help_;
  Labels label_names_;
  std::vector<double> buckets_;
  mutable std::mutex mutex_;
  std::map<Labels, std::unique_ptr<Metric>> children_;
};

class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help, Labels label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help, Labels label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help, Labels label_names,
                               std::vector<double> buckets);

  // A value read at scrape time (process metrics, queue depths owned by other objects).
  void callback(std::string name, std::string help, Type type, std::function<double()> read);

  // The whole registry in the Prometheus text format 0.0.4.
  [[nodiscard]] std::string expose() const;

 private:
  struct Callback {
    std::string name;
    std::string help;
    Type type;
    std::function<double()> read;
  };
  using AnyFamily = std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                                 std::unique_ptr<Family<Histogram>>, std::unique_ptr<Callback>>;
  void check_new_name(const std::string& name) const;

  mutable std::mutex mutex_;
  std::vector<AnyFamily> families_;
};

// Escapes a label value for the text format (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace october::metrics
