#pragma once
// Celery's LimitedSet (celery.utils.collections), the shape the worker keeps revoked task ids
// in: bounded to `maxlen` at all times, and once the bound is reached every entry older than
// `expires` goes too. Membership itself never looks at the age, as in Celery: a revocation
// lasts until the set has to make room. Not thread-safe; its owner locks.
#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace october::celery {

class LimitedSet {
 public:
  // Celery's worker: REVOKES_MAX 50000, REVOKE_EXPIRES 10800 s.
  static constexpr std::size_t kRevokesMax = 50000;
  static constexpr double kRevokeExpires = 10800;

  explicit LimitedSet(std::size_t maxlen = kRevokesMax, double expires = kRevokeExpires)
      : maxlen_(maxlen), expires_(expires) {}

  // Adds `item` inserted at `now`, or moves an existing one to `now`.
  void add(const std::string& item, double now);
  [[nodiscard]] bool contains(const std::string& item) const { return items_.contains(item); }
  [[nodiscard]] std::size_t size() const { return items_.size(); }
  // Trims to maxlen (oldest first), then drops what is older than `expires` at `now`.
  void purge(double now);
  // Items oldest first, with their insertion time.
  [[nodiscard]] std::vector<std::pair<std::string, double>> items() const;

 private:
  void erase_oldest();

  std::size_t maxlen_;
  double expires_;
  std::unordered_map<std::string, double> items_;
  std::multimap<double, std::string> by_time_;
};

}  // namespace october::celery
