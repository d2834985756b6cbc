#pragma once
// Twelve-factor configuration: every setting is an environment variable (PORT) and a flag
// (--port), with the flag winning. Values are checked when parsed so a bad one stops start-up
// with one line naming the variable and what it accepts.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace october::config {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using EnvLookup = std::function<const char*(const char*)>;

class Options {
 public:
  explicit Options(std::string program, std::string summary);

  void add_string(std::string env, std::string* target, std::string help,
                  std::function<void(const std::string&)> validate = {});
  void add_choice(std::string env, std::string* target, std::vector<std::string> choices,
                  std::string help);
  void add_int(std::string env, std::int64_t* target, std::int64_t min, std::int64_t max,
               std::string help);
  void add_double(std::string env, double* target, double min, double max, std::string help);
  void add_bool(std::string env, bool* target, std::string help);
  // A second flag for an added setting, e.g. the one a drop-in's users already type
  // (Celery's --hostname and -n for WORKER_HOSTNAME). Throws std::logic_error for an unknown env.
  void add_alias(std::string_view env, std::string flag);

  // Applies the environment, then the flags. Returns false when --help was asked for (the help
  // text is then in help_text()). Throws ConfigError on the first bad value or unknown flag.
  bool parse(int argc, const char* const* argv, const EnvLookup& getenv);

  [[nodiscard]] std::string help_text() const;

  static std::string flag_for(std::string_view env);

 private:
  struct Option {
    std::string env;
    std::string flag;
    std::vector<std::string> aliases;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    std::function<void(const std::string& raw, const std::string& source)> apply;
  };
  Option& add(std::string env, std::string help, std::string default_text);

  std::string program_;
  std::string summary_;
  std::vector<Option> options_;
};

}  // namespace october::config
