#include "tasks/registry.hpp"

#include <cmath>

#include "core/parse.hpp"
#include "tasks/workloads.hpp"

namespace october::tasks {

namespace json = boost::json;

TaskError type_error(const std::string& message) { return {"TypeError", "builtins", message}; }
TaskError value_error(const std::string& message) { return {"ValueError", "builtins", message}; }
TaskError soft_time_limit_exceeded() {
  return {"SoftTimeLimitExceeded", "celery.exceptions", "SoftTimeLimitExceeded()", json::array{}};
}

void Context::cancel() {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
  }
  wake_.notify_all();
}

void Context::sleep_for(double seconds) {
  std::unique_lock lock(mutex_);
  if (wake_.wait_for(lock, std::chrono::duration<double>(seconds),
                     [this] { return cancelled_.load(); })) {
    throw soft_time_limit_exceeded();
  }
}

namespace {

std::string python_type_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "NoneType";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "int";
    case json::kind::double_:
      return "float";
    case json::kind::string:
      return "str";
    case json::kind::array:
      return "list";
    case json::kind::object:
      return "dict";
  }
  return "object";
}

std::optional<double> as_number(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  if (value.is_double()) return value.get_double();
  return std::nullopt;
}

void check(const TaskSpec& spec, const Param& param, const json::value& value) {
  const std::string where = spec.name + "() argument '" + param.name + "'";
  if (param.type == Param::Type::numbers) {
    if (!value.is_array()) {
      throw type_error(where + " must be list, not " + python_type_name(value));
    }
    if (static_cast<double>(value.get_array().size()) > param.max) {
      throw value_error(where + " may hold at most " + format_double(param.max) + " items");
    }
    for (const auto& item : value.get_array()) {
      if (!as_number(item)) {
        throw type_error(where + " must hold int or float, not " + python_type_name(item));
      }
    }
    return;
  }
  if (param.type == Param::Type::string) {
    if (!value.is_string()) {
      throw type_error(where + " must be str, not " + python_type_name(value));
    }
    return;
  }
  bool integral = value.is_int64() || value.is_uint64();
  if (param.type == Param::Type::integer ? !integral : !(integral || value.is_double())) {
    throw type_error(where + " must be " +
                     (param.type == Param::Type::integer ? "int" : "int or float") + ", not " +
                     python_type_name(value));
  }
  double number = *as_number(value);
  if (number < param.min || number > param.max) {
    throw value_error(where + " must be between " + format_double(param.min) + " and " +
                      format_double(param.max) + ", got " + format_double(number));
  }
}

std::int64_t integer(const json::value& value) {
  return value.is_uint64() ? static_cast<std::int64_t>(value.get_uint64()) : value.get_int64();
}

json::value add(const std::vector<json::value>& args) {
  const auto& x = args[0];
  const auto& y = args[1];
  if (x.is_int64() && y.is_int64()) {
    std::int64_t sum = 0;
    if (!__builtin_add_overflow(x.get_int64(), y.get_int64(), &sum)) return sum;
  }
  return *as_number(x) + *as_number(y);
}

// Python's sum(): exact while every item is an int and the total fits, else a float.
json::value sum(const json::array& items) {
  std::int64_t total = 0;
  bool exact = true;
  double approximate = 0;
  for (const auto& item : items) {
    approximate += *as_number(item);
    if (exact && item.is_int64()) {
      exact = !__builtin_add_overflow(total, item.get_int64(), &total);
    } else {
      exact = false;
    }
  }
  return exact ? json::value(total) : json::value(approximate);
}

std::vector<TaskSpec> make_registry() {
  using Type = Param::Type;
  std::vector<TaskSpec> specs;
  specs.push_back({"ping", "Answers \"pong\"", {}, [](const auto&, Context&) -> json::value {
                     return "pong";
                   }});
  specs.push_back({"add",
                   "x + y",
                   {{"x", Type::number, -1e300, 1e300}, {"y", Type::number, -1e300, 1e300}},
                   [](const auto& args, Context&) { return add(args); }});
  // A chord body's shape: it is called with the list of its header's results.
  specs.push_back({"tsum",
                   "The sum of a list of numbers",
                   {{"numbers", Type::numbers, 0, 100000}},
                   [](const auto& args, Context&) { return sum(args[0].get_array()); }});
  specs.push_back({"prime",
                   "The n-th prime",
                   {{"n", Type::integer, 1, 1e9}},
                   [](const auto& args, Context&) -> json::value {
                     return nth_prime(static_cast<std::uint64_t>(integer(args[0])));
                   }});
  specs.push_back({"fibonacci",
                   "The n-th Fibonacci number, exact",
                   {{"n", Type::integer, 0, 92}},
                   [](const auto& args, Context&) -> json::value {
                     return fibonacci_iterative(static_cast<unsigned>(integer(args[0])));
                   }});
  specs.push_back({"hash",
                   "SHA-256 chain, as GET /compute/hash",
                   {{"iterations", Type::integer, 1, 1e6, json::value(1000)},
                    {"data_size_kb", Type::integer, 1, 10000, json::value(1)}},
                   [](const auto& args, Context&) -> json::value {
                     return json::string(
                         sha256_chain(static_cast<std::uint64_t>(integer(args[0])),
                                      static_cast<std::uint64_t>(integer(args[1]))));
                   }});
  specs.push_back({"sleep",
                   "Sleeps, honouring the soft time limit; returns the seconds slept",
                   {{"seconds", Type::number, 0, 86400}},
                   [](const auto& args, Context& context) -> json::value {
                     context.sleep_for(*as_number(args[0]));
                     return args[0];
                   }});
  specs.push_back(
      {"fail",
       "Raises ValueError(message); retried max_retries times first, backoff countdown*2^n",
       {{"message", Type::string, 0, 0, json::value("task failed on purpose")},
        {"max_retries", Type::integer, 0, 100, json::value(0)},
        {"countdown", Type::number, 0, 3600, json::value(1)}},
       [](const auto& args, Context& context) -> json::value {
         std::string message(args[0].get_string());
         if (context.retries() < integer(args[1])) {
           double countdown =
               *as_number(args[2]) * std::pow(2.0, static_cast<double>(context.retries()));
           throw Retry{countdown, value_error(message)};
         }
         throw value_error(message);
       }});
  return specs;
}

}  // namespace

const std::vector<TaskSpec>& registry() {
  static const std::vector<TaskSpec> specs = make_registry();
  return specs;
}

const TaskSpec* find(std::string_view name) {
  for (const auto& spec : registry()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string names() {
  std::string out;
  for (const auto& spec : registry()) out += (out.empty() ? "" : ", ") + spec.name;
  return out;
}

std::vector<json::value> bind(const TaskSpec& spec, const json::array& args,
                              const json::object& kwargs) {
  const auto& params = spec.params;
  if (args.size() > params.size()) {
    throw type_error(spec.name + "() takes " + std::to_string(params.size()) +
                     " positional argument" + (params.size() == 1 ? "" : "s") + " but " +
                     std::to_string(args.size()) + (args.size() == 1 ? " was" : " were") +
                     " given");
  }
  std::vector<std::optional<json::value>> bound(params.size());
  for (std::size_t i = 0; i < args.size(); ++i) bound[i] = args[i];
  for (const auto& [key, value] : kwargs) {
    std::size_t index = 0;
    while (index < params.size() && params[index].name != key) ++index;
    if (index == params.size()) {
      throw type_error(spec.name + "() got an unexpected keyword argument '" + std::string(key) +
                       "'");
    }
    if (bound[index]) {
      throw type_error(spec.name + "() got multiple values for argument '" + std::string(key) +
                       "'");
    }
    bound[index] = value;
  }
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!bound[i]) {
      if (params[i].default_value) {
        bound[i] = params[i].default_value;
      } else {
        missing.push_back("'" + params[i].name + "'");
      }
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size(); ++i) {
      if (i > 0) list += i + 1 == missing.size() ? " and " : ", ";
      list += missing[i];
    }
    throw type_error(spec.name + "() missing " + std::to_string(missing.size()) + " required " +
                     "positional argument" + (missing.size() == 1 ? "" : "s") + ": " + list);
  }
  std::vector<json::value> values;
  for (std::size_t i = 0; i < params.size(); ++i) {
    check(spec, params[i], *bound[i]);
    values.push_back(std::move(*bound[i]));
  }
  return values;
}

}  // namespace october::tasks
