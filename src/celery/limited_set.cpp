#include "celery/limited_set.hpp"

namespace october::celery {

void LimitedSet::add(const std::string& item, double now) {
  if (auto it = items_.find(item); it != items_.end()) {
    auto [first, last] = by_time_.equal_range(it->second);
    for (auto entry = first; entry != last; ++entry) {
      if (entry->second == item) {
        by_time_.erase(entry);
        break;
      }
    }
    items_.erase(it);
  }
  items_.emplace(item, now);
  by_time_.emplace(now, item);
  if (maxlen_ > 0 && items_.size() >= maxlen_) purge(now);
}

void LimitedSet::erase_oldest() {
  auto oldest = by_time_.begin();
  items_.erase(oldest->second);
  by_time_.erase(oldest);
}

void LimitedSet::purge(double now) {
  while (maxlen_ > 0 && items_.size() > maxlen_) erase_oldest();
  if (expires_ <= 0) return;
  while (!by_time_.empty() && by_time_.begin()->first + expires_ <= now) erase_oldest();
}

std::vector<std::pair<std::string, double>> LimitedSet::items() const {
  std::vector<std::pair<std::string, double>> out;
  out.reserve(by_time_.size());
  for (const auto& [time, item] : by_time_) out.emplace_back(item, time);
  return out;
}

}  // namespace october::celery
