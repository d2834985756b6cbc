#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/parse.hpp"

namespace october::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  if (!std::is_sorted(upper_bounds_.begin(), upper_bounds_.end())) {
    throw std::invalid_argument("histogram buckets must be sorted");
  }
}

void Histogram::observe(double value) {
  auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.upper_bounds = upper_bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts.push_back(running);
  }
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

template <typename Metric>
Metric& Family<Metric>::labels(const Labels& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values");
  }
  std::lock_guard lock(mutex_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      it = children_.emplace(values, std::make_unique<Histogram>(buckets_)).first;
    } else {
      it = children_.emplace(values, std::make_unique<Metric>()).first;
    }
  }
  return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return format_double(value);
}

void write_header(std::string& out, const std::string& name, const std::string& help,
                  std::string_view type) {
  out += "# HELP " + name + " " + escape_help(help) + "\n";
  out += "# TYPE " + name + " ";
  out += type;
  out += "\n";
}

// {a="x",b="y"} or "" when there are no labels; `extra` is an already formatted pair (le="...").
std::string label_set(const Labels& names, const Labels& values, const std::string& extra = {}) {
  if (names.empty() && extra.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

template <typename Metric>
void expose_simple(std::string& out, const Family<Metric>& family, std::string_view type) {
  write_header(out, family.name(), family.help(), type);
  family.for_each([&](const Labels& values, const Metric& metric) {
    out += family.name() + label_set(family.label_names(), values) + " " +
           format_value(metric.value()) + "\n";
  });
}

void expose_histogram(std::string& out, const Family<Histogram>& family) {
  write_header(out, family.name(), family.help(), "histogram");
  family.for_each([&](const Labels& values, const Histogram& histogram) {
    auto snap = histogram.snapshot();
    for (std::size_t i = 0; i < snap.cumulative_counts.size(); ++i) {
      std::string le = i < snap.upper_bounds.size() ? format_value(snap.upper_bounds[i]) : "+Inf";
      out += family.name() + "_bucket" +
             label_set(family.label_names(), values, "le=\"" + le + "\"") + " " +
             std::to_string(snap.cumulative_counts[i]) + "\n";
    }
    std::string labels = label_set(family.label_names(), values);
    out += family.name() + "_sum" + labels + " " + format_value(snap.sum) + "\n";
    out += family.name() + "_count" + labels + " " + std::to_string(snap.cumulative_counts.back()) +
           "\n";
  });
}

}  // namespace

void Registry::check_new_name(const std::string& name) const {
  if (!valid_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& family : families_) {
    std::visit(
        [&](const auto& f) {
          using T = std::decay_t<decltype(*f)>;
          const std::string* existing = nullptr;
          if constexpr (std::is_same_v<T, Callback>) {
            existing = &f->name;
          } else {
            existing = &f->name();
          }
          if (*existing == name) throw std::invalid_argument("duplicate metric name: " + name);
        },
        family);
  }
}

Family<Counter>& Registry::counter(std::string name, std::string help, Labels label_names) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  auto family =
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(label_names));
  auto& ref = *family;
  families_.emplace_back(std::move(family));
  return ref;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, Labels label_names) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  auto family =
      std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(label_names));
  auto& ref = *family;
  families_.emplace_back(std::move(family));
  return ref;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, Labels label_names,
                                       std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  auto family = std::make_unique<Family<Histogram>>(std::move(name), std::move(help),
                                                    std::move(label_names), std::move(buckets));
  auto& ref = *family;
  families_.emplace_back(std::move(family));
  return ref;
}

void Registry::callback(std::string name, std::string help, Type type,
                        std::function<double()> read) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  families_.emplace_back(std::make_unique<Callback>(
      Callback{std::move(name), std::move(help), type, std::move(read)}));
}

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  for (const auto& family : families_) {
    std::visit(
        [&](const auto& f) {
          using T = std::decay_t<decltype(*f)>;
          if constexpr (std::is_same_v<T, Family<Counter>>) {
            expose_simple(out, *f, "counter");
          } else if constexpr (std::is_same_v<T, Family<Gauge>>) {
            expose_simple(out, *f, "gauge");
          } else if constexpr (std::is_same_v<T, Family<Histogram>>) {
            expose_histogram(out, *f);
          } else {
            write_header(out, f->name, f->help, f->type == Type::counter ? "counter" : "gauge");
            out += f->name + " " + format_value(f->read()) + "\n";
          }
        },
        family);
  }
  return out;
}

}  // namespace october::metrics
