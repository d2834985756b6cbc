#pragma once
// The registered background tasks: their signatures (the api validates submissions with them)
// and their bodies (the worker runs them). Failures are Python exceptions by name and module so
// Python Celery clients re-raise the right type.
#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/string_view.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_ref.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace october::tasks {

struct TaskError : std::runtime_error {
  // `exc_args` are the Python exception's args (exc_message); by default (message,).
  TaskError(std::string exc_type, std::string exc_module, const std::string& message,
            std::optional<boost::json::array> exc_args = std::nullopt)
      : std::runtime_error(message),
        type(std::move(exc_type)),
        module(std::move(exc_module)),
        args(exc_args ? std::move(*exc_args) : boost::json::array{boost::json::string(message)}) {}
  std::string type;
  std::string module;
  boost::json::array args;
};

TaskError type_error(const std::string& message);
TaskError value_error(const std::string& message);

// Thrown by a task body to be run again after `countdown` seconds. `cause` is the exception
// that made it retry: Celery stores it as the RETRY state's result.
struct Retry {
  double countdown;
  TaskError cause;
};

// What a running task may ask of the worker: its retry count, and whether its soft time limit
// has passed (cancel()).
class Context {
 public:
  explicit Context(std::int64_t retries = 0) : retries_(retries) {}

  [[nodiscard]] std::int64_t retries() const { return retries_; }
  void cancel();
  [[nodiscard]] bool cancelled() const { return cancelled_.load(); }
  // Sleeps, or throws SoftTimeLimitExceeded as soon as cancel() is called.
  void sleep_for(double seconds);

 private:
  std::int64_t retries_;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

TaskError soft_time_limit_exceeded();

struct Param {
  enum class Type { integer, number, string, numbers };  // numbers: a list of int or float
  std::string name;
  Type type = Type::integer;
  double min = 0;
  double max = 0;
  std::optional<boost::json::value> default_value;
};

struct TaskSpec {
  std::string name;
  std::string summary;
  std::vector<Param> params;
  std::function<boost::json::value(const std::vector<boost::json::value>& args, Context&)> run;
};

const std::vector<TaskSpec>& registry();
const TaskSpec* find(std::string_view name);
std::string names();  // "add, fail, ..." for error messages

// Binds a call's positional and keyword arguments to the task's parameters the way Python
// does, checking types (TypeError) and ranges (ValueError).
std::vector<boost::json::value> bind(const TaskSpec& spec, const boost::json::array& args,
                                     const boost::json::object& kwargs);

}  // namespace october::tasks
