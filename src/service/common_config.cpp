#include "service/common_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "core/duration.hpp"
#include "redis/client.hpp"

namespace october {

unsigned cores() { return std::max(1U, std::thread::hardware_concurrency()); }

void add_common_options(config::Options& options, CommonConfig& config) {
  options.add_string("HOST", &config.host, "IPv4 or IPv6 address to listen on",
                     [](const std::string& raw) {
                       std::array<unsigned char, sizeof(in6_addr)> buf{};
                       if (inet_pton(AF_INET, raw.c_str(), buf.data()) != 1 &&
                           inet_pton(AF_INET6, raw.c_str(), buf.data()) != 1) {
                         throw std::invalid_argument("'" + raw + "' is not an IP address");
                       }
                     });
  options.add_int("PORT", &config.port, 1, 65535, "TCP port of the HTTP listener");
  auto check_url = [](const std::string& raw) { redis::Url::parse(raw); };
  options.add_string("CELERY_BROKER_URL", &config.broker_url, "Redis URL of the task broker",
                     check_url);
  options.add_string("CELERY_RESULT_BACKEND", &config.result_backend,
                     "Redis URL of the task result store", check_url);
  options.add_choice("LOG_LEVEL", &config.log_level,
                     {"debug", "info", "warning", "error", "critical"},
                     "least severe level written to stdout");
  options.add_int("SHUTDOWN_DRAIN_SECONDS", &config.drain_seconds, 0, 300,
                  "after SIGTERM, seconds to keep serving with readiness false");
  options.add_int("SHUTDOWN_TIMEOUT_SECONDS", &config.shutdown_timeout_seconds, 0, 600,
                  "then seconds to let in-flight requests finish");
  options.add_int("IO_THREADS", &config.io_threads, 0, 256,
                  "HTTP I/O threads; 0 means one per core");
  options.add_int("MAX_CONNECTIONS", &config.max_connections, 1, 1000000,
                  "open connections before new ones get 503");
  options.add_int("MAX_HEADER_BYTES", &config.max_header_bytes, 1024, 1048576,
                  "request header size limit; larger gets 431");
  options.add_int("MAX_BODY_BYTES", &config.max_body_bytes, 0, 104857600,
                  "request body size limit; larger gets 413");
  options.add_double("HEADER_TIMEOUT_SECONDS", &config.header_timeout_seconds, 0.1, 3600,
                     "time allowed to receive a request once its first byte arrived");
  options.add_double("IDLE_TIMEOUT_SECONDS", &config.idle_timeout_seconds, 0.1, 3600,
                     "keep-alive connection idle time before it is closed");
  options.add_double("READINESS_INTERVAL_SECONDS", &config.readiness_interval_seconds, 0.1, 60,
                     "period of the background Redis PING behind readiness");
}

http::ServerOptions server_options(const CommonConfig& config) {
  http::ServerOptions options;
  options.host = config.host;
  options.port = static_cast<std::uint16_t>(config.port);
  options.io_threads =
      config.io_threads == 0 ? cores() : static_cast<std::size_t>(config.io_threads);
  options.max_connections = static_cast<std::size_t>(config.max_connections);
  options.max_header_bytes = static_cast<std::size_t>(config.max_header_bytes);
  options.max_body_bytes = static_cast<std::size_t>(config.max_body_bytes);
  options.header_timeout = to_milliseconds(config.header_timeout_seconds);
  options.idle_timeout = to_milliseconds(config.idle_timeout_seconds);
  return options;
}

std::optional<int> parse_command_line(config::Options& options, std::string_view program, int argc,
                                      const char* const* argv) {
  try {
    auto getenv = [](const char* name) {
      return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): no thread runs yet
    };
    if (!options.parse(argc, argv, getenv)) {
      std::cout << options.help_text();
      return 0;
    }
  } catch (const config::ConfigError& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace october
