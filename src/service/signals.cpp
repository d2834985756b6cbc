#include "service/signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace october {

namespace {
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void block_shutdown_signals() {
  sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string wait_for_shutdown_signal() {
  sigset_t set = shutdown_signals();
  int signal = 0;
  sigwait(&set, &signal);
  return signal == SIGTERM ? "SIGTERM" : "SIGINT";
}

bool interrupted_within(std::chrono::milliseconds wait) {
  if (wait <= std::chrono::milliseconds::zero()) return false;
  sigset_t set = shutdown_signals();
  auto whole = std::chrono::duration_cast<std::chrono::seconds>(wait);
  timespec timeout{static_cast<time_t>(whole.count()),
                   static_cast<long>(std::chrono::nanoseconds(wait - whole).count())};
  return sigtimedwait(&set, nullptr, &timeout) > 0;
}

}  // namespace october
