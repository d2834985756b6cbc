// The settings both binaries share, as config::Options reads them.
#include <gtest/gtest.h>

#include <vector>

#include "core/config.hpp"
#include "service/service.hpp"

namespace october::config {
namespace {

TEST(CommonOptions, RejectBadRedisUrl) {
  CommonConfig config;
  Options options("prog", "x");
  add_common_options(options, config);
  std::vector<const char*> args{"prog", "--celery-broker-url=http://x"};
  EXPECT_THROW(options.parse(2, args.data(), [](const char*) { return nullptr; }), ConfigError);
}

}  // namespace
}  // namespace october::config
