#include "core/config.hpp"

#include <algorithm>
#include <sstream>

#include "core/parse.hpp"

namespace october::config {

namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

}  // namespace

Options::Options(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

std::string Options::flag_for(std::string_view env) {
  std::string flag = "--";
  for (char c : env) {
    flag += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return flag;
}

Options::Option& Options::add(std::string env, std::string help, std::string default_text) {
  Option option;
  option.flag = flag_for(env);
  option.env = std::move(env);
  option.help = std::move(help);
  option.default_text = std::move(default_text);
  return options_.emplace_back(std::move(option));
}

void Options::add_string(std::string env, std::string* target, std::string help,
                         std::function<void(const std::string&)> validate) {
  auto& option = add(std::move(env), std::move(help), *target);
  option.apply = [target, validate = std::move(validate), name = option.env](
                     const std::string& raw, const std::string& source) {
    if (validate) {
      try {
        validate(raw);
      } catch (const std::exception& e) {
        throw ConfigError(source + ": " + e.what());
      }
    }
    *target = raw;
  };
}

void Options::add_choice(std::string env, std::string* target, std::vector<std::string> choices,
                         std::string help) {
  help += " (one of " + join(choices, ", ") + ")";
  auto& option = add(std::move(env), std::move(help), *target);
  option.apply = [target, choices = std::move(choices)](const std::string& raw,
                                                        const std::string& source) {
    if (std::find(choices.begin(), choices.end(), raw) == choices.end()) {
      throw ConfigError(source + ": '" + raw + "' is not one of " + join(choices, ", "));
    }
    *target = raw;
  };
}

void Options::add_int(std::string env, std::int64_t* target, std::int64_t min, std::int64_t max,
                      std::string help) {
  help += " (" + std::to_string(min) + ".." + std::to_string(max) + ")";
  auto& option = add(std::move(env), std::move(help), std::to_string(*target));
  option.apply = [target, min, max](const std::string& raw, const std::string& source) {
    auto value = parse_int(raw);
    if (!value || *value < min || *value > max) {
      throw ConfigError(source + ": '" + raw + "' is not an integer between " +
                        std::to_string(min) + " and " + std::to_string(max));
    }
    *target = *value;
  };
}

void Options::add_double(std::string env, double* target, double min, double max,
                         std::string help) {
  help += " (" + format_double(min) + ".." + format_double(max) + ")";
  auto& option = add(std::move(env), std::move(help), format_double(*target));
  option.apply = [target, min, max](const std::string& raw, const std::string& source) {
    auto value = parse_double(raw);
    if (!value || *value < min || *value > max) {
      throw ConfigError(source + ": '" + raw + "' is not a number between " + format_double(min) +
                        " and " + format_double(max));
    }
    *target = *value;
  };
}

void Options::add_bool(std::string env, bool* target, std::string help) {
  auto& option = add(std::move(env), std::move(help), *target ? "true" : "false");
  option.is_bool = true;
  option.apply = [target](const std::string& raw, const std::string& source) {
    auto value = parse_bool(raw);
    if (!value) throw ConfigError(source + ": '" + raw + "' is not true or false");
    *target = *value;
  };
}

void Options::add_alias(std::string_view env, std::string flag) {
  auto it =
      std::find_if(options_.begin(), options_.end(), [&](const Option& o) { return o.env == env; });
  if (it == options_.end()) throw std::logic_error("alias for an unknown setting");
  it->aliases.push_back(std::move(flag));
}

bool Options::parse(int argc, const char* const* argv, const EnvLookup& getenv) {
  for (auto& option : options_) {
    if (const char* raw = getenv(option.env.c_str()); raw != nullptr) {
      option.apply(raw, option.env);
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return false;
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto it = std::find_if(options_.begin(), options_.end(), [&](const Option& o) {
      return o.flag == name ||
             std::find(o.aliases.begin(), o.aliases.end(), name) != o.aliases.end();
    });
    if (it == options_.end()) {
      throw ConfigError("unknown argument '" + arg + "' (see --help)");
    }
    if (!has_value) {
      if (it->is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw ConfigError(name + ": missing value");
      }
    }
    it->apply(value, name);
  }
  return true;
}

std::string Options::help_text() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [--flag=value ...]\n\n" << summary_ << "\n\n";
  out << "Every setting is an environment variable and a flag; the flag wins.\n\n";
  for (const auto& option : options_) {
    out << "  " << option.flag;
    for (const auto& alias : option.aliases) out << ", " << alias;
    out << (option.is_bool ? "[=true|false]" : "=VALUE") << "\n"
        << "      env " << option.env << ", default '" << option.default_text
        << "': " << option.help << "\n";
  }
  return out.str();
}

}  // namespace october::config
