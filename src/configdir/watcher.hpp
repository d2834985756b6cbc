#pragma once
// Keeps a Snapshot of a configuration directory current: a thread waits on inotify and re-reads
// the directory when something in it changes. It watches the directory itself (plain edits,
// new and removed files, and the rename(2) of `..data` the kubelet does to swap in a new
// ConfigMap version atomically) and the directory `..data` points at (in-place edits there),
// moving that second watch whenever the symlink is swapped.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "configdir/snapshot.hpp"

namespace october::configdir {

class Watcher {
 public:
  // How changes are noticed: inotify, or reading and comparing every 2 s (what it falls back to
  // without inotify; chosen directly by tests).
  enum class Events { inotify, polling };

  // Reads the directory once, then watches it until destroyed; without inotify (the node's
  // instances used up) it reads and compares every 2 s instead. Throws std::runtime_error only
  // when it cannot make the eventfd that stops its thread.
  explicit Watcher(std::string directory, Limits limits = {}, Events events = Events::inotify);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  [[nodiscard]] const std::string& directory() const { return directory_; }
  [[nodiscard]] std::shared_ptr<const Snapshot> snapshot() const;
  // Re-reads after a change (the first read at start is not one).
  [[nodiscard]] std::uint64_t reloads() const { return reloads_.load(); }
  [[nodiscard]] double last_read_unix_seconds() const { return last_read_.load(); }

 private:
  void run();
  // The fallback without inotify: read, compare, reload what changed.
  void poll_loop();
  // (Re)adds the watches; false while the directory is missing.
  bool watch();
  // Reads inotify events until none came for a short while, so a burst of them (the kubelet's
  // swap is five steps) makes one reload. True when something was read.
  bool drain();
  void reload(bool counted);

  std::string directory_;
  Limits limits_;
  int inotify_ = -1;
  int stop_ = -1;  // an eventfd: written once to end the thread
  int directory_watch_ = -1;
  int data_watch_ = -1;
  std::string data_target_;

  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<double> last_read_{0};
  std::thread thread_;
};

}  // namespace october::configdir
