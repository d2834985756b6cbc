#pragma once
// The settings both binaries share, beside config::Options that reads them: where to listen,
// where Redis is, how to log and how to shut down.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "http/server.hpp"

namespace october {

struct CommonConfig {
  std::string host = "0.0.0.0";
  std::int64_t port = 8000;
  std::string broker_url = "redis://127.0.0.1:6379/0";
  std::string result_backend = "redis://127.0.0.1:6379/1";
  std::string log_level = "info";
  std::int64_t drain_seconds = 5;
  std::int64_t shutdown_timeout_seconds = 20;
  std::int64_t io_threads = 0;  // 0: one per core
  std::int64_t max_connections = 10000;
  std::int64_t max_header_bytes = 16384;
  std::int64_t max_body_bytes = 1048576;
  double header_timeout_seconds = 10;
  double idle_timeout_seconds = 60;
  double readiness_interval_seconds = 1;
};

void add_common_options(config::Options& options, CommonConfig& config);
http::ServerOptions server_options(const CommonConfig& config);
// What a thread-count setting of 0 means: one per core.
unsigned cores();

// The start of both binaries' main: reads the environment and the flags into `options`.
// Returns the exit status to stop with (0 after --help, 2 after a one-line error naming the
// setting), or nullopt to go on. Call before any thread starts.
std::optional<int> parse_command_line(config::Options& options, std::string_view program, int argc,
                                      const char* const* argv);

}  // namespace october
