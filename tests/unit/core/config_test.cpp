#include "core/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace october::config {
namespace {

struct Fixture {
  std::int64_t port = 8000;
  double timeout = 1.5;
  bool flag = false;
  std::string level = "info";
  Options options{"prog", "test program"};
  std::map<std::string, std::string> env;

  Fixture() {
    options.add_int("PORT", &port, 1, 65535, "port");
    options.add_double("TIMEOUT_SECONDS", &timeout, 0.1, 60, "timeout");
    options.add_bool("FAIL_HEALTHZ", &flag, "flag");
    options.add_choice("LOG_LEVEL", &level, {"debug", "info"}, "level");
  }

  bool parse(std::vector<const char*> args) {
    args.insert(args.begin(), "prog");
    return options.parse(static_cast<int>(args.size()), args.data(), [this](const char* name) {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
  }
};

TEST(Options, DefaultsStayWithoutInput) {
  Fixture f;
  EXPECT_TRUE(f.parse({}));
  EXPECT_EQ(f.port, 8000);
  EXPECT_DOUBLE_EQ(f.timeout, 1.5);
}

TEST(Options, EnvironmentThenFlagsWin) {
  Fixture f;
  f.env["PORT"] = "9000";
  f.env["LOG_LEVEL"] = "debug";
  EXPECT_TRUE(f.parse({"--port=9100", "--fail-healthz", "--timeout-seconds", "2"}));
  EXPECT_EQ(f.port, 9100);
  EXPECT_TRUE(f.flag);
  EXPECT_DOUBLE_EQ(f.timeout, 2.0);
  EXPECT_EQ(f.level, "debug");
}

TEST(Options, BadValuesNameTheVariableAndRange) {
  Fixture f;
  f.env["PORT"] = "abc";
  try {
    f.parse({});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "PORT: 'abc' is not an integer between 1 and 65535");
  }
  Fixture g;
  EXPECT_THROW(g.parse({"--port=70000"}), ConfigError);
  Fixture h;
  EXPECT_THROW(h.parse({"--log-level=loud"}), ConfigError);
  Fixture i;
  EXPECT_THROW(i.parse({"--timeout-seconds=0"}), ConfigError);
  Fixture j;
  EXPECT_THROW(j.parse({"--fail-healthz=perhaps"}), ConfigError);
}

TEST(Options, UnknownFlagAndMissingValueAreErrors) {
  Fixture f;
  EXPECT_THROW(f.parse({"--nope=1"}), ConfigError);
  Fixture g;
  EXPECT_THROW(g.parse({"--port"}), ConfigError);
}

TEST(Options, HelpListsEveryVariable) {
  Fixture f;
  EXPECT_FALSE(f.parse({"--help"}));
  auto help = f.options.help_text();
  for (const char* name : {"PORT", "--port", "TIMEOUT_SECONDS", "FAIL_HEALTHZ", "LOG_LEVEL"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

TEST(Options, AliasesAreFlagsOfTheSameSetting) {
  Fixture f;
  f.options.add_alias("PORT", "-p");
  f.options.add_alias("FAIL_HEALTHZ", "-F");
  EXPECT_TRUE(f.parse({"-p", "9200", "-F"}));
  EXPECT_EQ(f.port, 9200);
  EXPECT_TRUE(f.flag);
  Fixture g;
  g.options.add_alias("PORT", "-p");
  try {
    g.parse({"-p=0"});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("-p: '0'", 0), 0U) << e.what();  // names what was typed
  }
  EXPECT_NE(g.options.help_text().find("--port, -p=VALUE"), std::string::npos);
  EXPECT_THROW(g.options.add_alias("NOPE", "-x"), std::logic_error);
}

}  // namespace
}  // namespace october::config
