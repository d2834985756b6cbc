#include "worker/task_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <iterator>
#include <thread>

#include "core/json_text.hpp"
#include "core/parse.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn wants it

namespace october::worker {

namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kCancelPollMs = 100;

json::object error_object(const tasks::TaskError& error) {
  return {{"type", error.type},
          {"module", error.module},
          {"message", error.what()},
          {"args", error.args}};
}

tasks::TaskError error_from(const json::object& object) {
  return {std::string(object.at("type").as_string()), std::string(object.at("module").as_string()),
          std::string(object.at("message").as_string()), object.at("args").as_array()};
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int value) : fd(value) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the child died early: its exit status tells what happened
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

json::value run_in_child(const tasks::TaskSpec& spec, const std::vector<json::value>& args,
                         std::int64_t retries, double soft_seconds, double hard_seconds,
                         const tasks::Context* cancel) {
  std::array<int, 2> to_child{};
  std::array<int, 2> from_child{};
  if (pipe2(to_child.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  Fd child_in(to_child[0]);
  Fd parent_out(to_child[1]);
  if (pipe2(from_child.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  Fd parent_in(from_child[0]);
  Fd child_out(from_child[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_in.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, child_out.fd, STDOUT_FILENO);
  std::string self = "/proc/self/exe";
  std::string flag = kRunTaskFlag;
  std::array<char*, 3> argv{self.data(), flag.data(), nullptr};
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("cannot start a task process");
  child_in.reset();
  child_out.reset();

  json::array call_args;
  for (const auto& arg : args) call_args.push_back(arg);
  write_all(parent_out.fd,
            to_json(json::object{{"task", spec.name}, {"args", call_args}, {"retries", retries}}));
  parent_out.reset();

  const auto started = Clock::now();
  auto at = [&](double seconds) {
    return started +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  bool soft_sent = soft_seconds <= 0;
  std::string output;
  std::array<char, 4096> buffer{};
  for (;;) {
    auto now = Clock::now();
    if (hard_seconds > 0 && now >= at(hard_seconds)) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      throw tasks::TaskError("TimeLimitExceeded", "celery.exceptions",
                             "TimeLimitExceeded(" + format_double(hard_seconds) + ")",
                             json::array{hard_seconds});
    }
    if (cancel != nullptr && cancel->cancelled()) {
      // SIGKILL: the child inherits the worker's blocked SIGTERM, so only KILL is sure to stop it.
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      throw tasks::TaskError("Terminated", "billiard.exceptions", "Terminated(9)",
                             json::array{SIGKILL});
    }
    if (!soft_sent && now >= at(soft_seconds)) {
      kill(pid, SIGUSR1);  // the child cancels the task's context
      soft_sent = true;
    }
    auto next = Clock::time_point::max();
    if (hard_seconds > 0) next = at(hard_seconds);
    if (!soft_sent) next = std::min(next, at(soft_seconds));
    int wait_ms =
        next == Clock::time_point::max()
            ? -1
            : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now).count());
    // A cancellation is looked at every tenth of a second.
    if (cancel != nullptr && (wait_ms < 0 || wait_ms > kCancelPollMs)) wait_ms = kCancelPollMs;
    pollfd readable{parent_in.fd, POLLIN, 0};
    int ready = poll(&readable, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = read(parent_in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer.data(), static_cast<std::size_t>(n));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  json::error_code ec;
  json::value outcome = json::parse(output, ec);
  if (ec || !outcome.is_object()) {
    std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                          : "exit code " + std::to_string(WEXITSTATUS(status));
    throw tasks::TaskError("WorkerLostError", "celery.exceptions",
                           "Worker exited prematurely: " + how);
  }
  const auto& object = outcome.get_object();
  if (const auto* value = object.if_contains("ok")) return *value;
  if (const auto* retry = object.if_contains("retry")) {
    throw tasks::Retry{retry->at("countdown").as_double(),
                       error_from(retry->at("error").as_object())};
  }
  throw error_from(object.at("error").as_object());
}

int run_task_child() {
  // SIGUSR1 from the parent means the soft time limit passed.
  sigset_t soft_limit;
  sigemptyset(&soft_limit);
  sigaddset(&soft_limit, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &soft_limit, nullptr);

  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json::object call = json::parse(input).as_object();
  const tasks::TaskSpec* spec = tasks::find(call.at("task").as_string());
  if (spec == nullptr) return 3;
  tasks::Context context(call.at("retries").as_int64());
  std::thread([&context, soft_limit] {
    int signal = 0;
    sigwait(&soft_limit, &signal);
    context.cancel();
  }).detach();

  std::vector<json::value> args(call.at("args").as_array().begin(),
                                call.at("args").as_array().end());
  json::object outcome;
  try {
    outcome["ok"] = spec->run(args, context);
  } catch (const tasks::TaskError& error) {
    outcome["error"] = error_object(error);
  } catch (const tasks::Retry& retry) {
    outcome["retry"] =
        json::object{{"countdown", retry.countdown}, {"error", error_object(retry.cause)}};
  } catch (const std::exception& error) {
    outcome["error"] = error_object(tasks::TaskError("RuntimeError", "builtins", error.what()));
  }
  std::cout << to_json(outcome) << std::flush;
  std::_Exit(0);  // the signal thread is still waiting: leave without unwinding it
}

}  // namespace october::worker
