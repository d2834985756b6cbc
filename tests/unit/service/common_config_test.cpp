// The settings both binaries share, as config::Options reads them.
#include "service/common_config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "core/config.hpp"

namespace october::config {
namespace {

TEST(CommonOptions, RejectBadRedisUrl) {
  CommonConfig config;
  Options options("prog", "x");
  add_common_options(options, config);
  std::vector<const char*> args{"prog", "--celery-broker-url=http://x"};
  EXPECT_THROW(options.parse(2, args.data(), [](const char*) { return nullptr; }), ConfigError);
}

TEST(ServerOptions, TimeoutsInMillisecondsAndZeroThreadsMeansOnePerCore) {
  CommonConfig config;
  config.header_timeout_seconds = 1.005;
  config.idle_timeout_seconds = 0.1;
  config.io_threads = 0;
  auto options = server_options(config);
  EXPECT_EQ(options.header_timeout, std::chrono::milliseconds(1005));
  EXPECT_EQ(options.idle_timeout, std::chrono::milliseconds(100));
  EXPECT_EQ(options.io_threads, cores());
  config.io_threads = 3;
  EXPECT_EQ(server_options(config).io_threads, 3U);
}

}  // namespace
}  // namespace october::config
