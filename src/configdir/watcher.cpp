#include "configdir/watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "core/log.hpp"

namespace october::configdir {

namespace {

// strerror() shares one buffer between threads; the error category's message does not.
std::string errno_text() { return std::generic_category().message(errno); }

constexpr std::uint32_t kDirectoryEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                           IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF |
                                           IN_MOVE_SELF | IN_ONLYDIR;
// How long events must stop before the directory is re-read, and the longest a burst may
// postpone it.
constexpr int kQuietMs = 100;
constexpr auto kLongestBurst = std::chrono::seconds(2);
// While the directory is missing, how often to look for it again.
constexpr int kRetryMs = 1000;
// Without inotify, how often to read the directory and compare.
constexpr int kPollMs = 2000;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Watcher::Watcher(std::string directory, Limits limits, Events events)
    : directory_(std::move(directory)), limits_(limits) {
  stop_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_ < 0) throw std::runtime_error(std::string("eventfd: ") + errno_text());
  if (events == Events::inotify) inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ < 0 && events == Events::inotify) {
    // fs.inotify.max_user_instances is shared by every container of the node: when it is used
    // up, polling keeps /configs current instead of failing the start.
    log::warn("config watcher: no inotify, polling instead",
              {{"directory", directory_}, {"error", errno_text()}, {"every_ms", kPollMs}});
  }
  // Watch first, then read: a change between the two is then seen and re-read, not lost.
  watch();
  reload(false);
  thread_ = std::thread([this] { run(); });
}

Watcher::~Watcher() {
  const std::uint64_t one = 1;
  if (::write(stop_, &one, sizeof one) < 0) {
    log::error("config watcher: cannot signal its thread", {{"error", errno_text()}});
  }
  thread_.join();
  ::close(stop_);
  if (inotify_ >= 0) ::close(inotify_);
}

std::shared_ptr<const Snapshot> Watcher::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

bool Watcher::watch() {
  if (inotify_ < 0) return false;
  if (directory_watch_ < 0) {
    directory_watch_ = ::inotify_add_watch(inotify_, directory_.c_str(), kDirectoryEvents);
    if (directory_watch_ < 0) return false;
  }
  // The kubelet's layout: follow ..data to the directory holding this version's files.
  std::error_code ec;
  auto target = std::filesystem::canonical(std::filesystem::path(directory_) / "..data", ec);
  std::string resolved = ec ? std::string() : target.string();
  if (resolved != data_target_) {
    if (data_watch_ >= 0) ::inotify_rm_watch(inotify_, data_watch_);  // may be gone already
    data_watch_ = -1;
    data_target_ = resolved;
    if (!resolved.empty()) {
      data_watch_ = ::inotify_add_watch(inotify_, resolved.c_str(), kDirectoryEvents);
    }
  }
  return true;
}

bool Watcher::drain() {
  alignas(inotify_event) std::array<char, 16384> buffer{};
  bool any = false;
  const auto give_up = std::chrono::steady_clock::now() + kLongestBurst;
  while (true) {
    auto n = ::read(inotify_, buffer.data(), buffer.size());
    if (n > 0) {
      any = true;
      for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
        // IN_IGNORED: the watch ended (the directory was removed or renamed away).
        if ((event->mask & IN_IGNORED) != 0U) {
          if (event->wd == directory_watch_) directory_watch_ = -1;
          if (event->wd == data_watch_) data_watch_ = -1;
        }
        at += sizeof(inotify_event) + event->len;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (!any || std::chrono::steady_clock::now() >= give_up) return any;
    pollfd quiet{.fd = inotify_, .events = POLLIN, .revents = 0};
    if (::poll(&quiet, 1, kQuietMs) <= 0) return any;
  }
}

void Watcher::run() {
  if (inotify_ < 0) return poll_loop();
  while (true) {
    std::array<pollfd, 2> fds{{{.fd = stop_, .events = POLLIN, .revents = 0},
                               {.fd = inotify_, .events = POLLIN, .revents = 0}}};
    const int timeout = directory_watch_ < 0 ? kRetryMs : -1;
    const int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      log::error("config watcher: poll failed, no more reloads",
                 {{"directory", directory_}, {"error", errno_text()}});
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) return;
    const bool changed = (fds[1].revents & POLLIN) != 0 && drain();
    const bool was_missing = directory_watch_ < 0;
    if (!watch()) {
      if (changed) reload(true);  // it is gone: an empty listing says so
      continue;
    }
    if (changed || was_missing) reload(true);
  }
}

void Watcher::poll_loop() {
  pollfd stop{.fd = stop_, .events = POLLIN, .revents = 0};
  while (::poll(&stop, 1, kPollMs) == 0 || (stop.revents & POLLIN) == 0) {
    auto now = read_directory(directory_, limits_);
    auto last = snapshot();
    if (now.files == last->files && now.omitted == last->omitted && now.error == last->error &&
        now.files_over_limit == last->files_over_limit) {
      last_read_ = unix_now();
      continue;
    }
    reload(true);
  }
}

void Watcher::reload(bool counted) {
  auto snapshot = std::make_shared<const Snapshot>(read_directory(directory_, limits_));
  const auto files = snapshot->files.size();
  const std::string error = snapshot->error;
  {
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(snapshot);
  }
  last_read_ = unix_now();
  if (counted) ++reloads_;
  if (!error.empty()) {
    log::warn("config directory unreadable", {{"directory", directory_}, {"error", error}});
  } else if (counted) {
    log::info("config directory reloaded",
              {{"directory", directory_}, {"files", files}, {"reloads", reloads_.load()}});
  }
}

}  // namespace october::configdir
