#include "core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <mutex>

#include "core/json_text.hpp"

namespace october::log {

namespace {

std::atomic<int> current_level{static_cast<int>(Level::info)};
std::mutex init_mutex;
std::shared_ptr<spdlog::logger> logger;

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warning:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

constexpr std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
    case Level::critical:
      return "critical";
  }
  return "info";
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  for (Level level : {Level::debug, Level::info, Level::warning, Level::error, Level::critical}) {
    if (name == level_name(level)) return level;
  }
  if (name == "warn") return Level::warning;
  return std::nullopt;
}

void init(Level level) {
  std::lock_guard lock(init_mutex);
  current_level = static_cast<int>(level);
  if (!logger) {
    // Overrun rather than block: a flood of access logs must never stall the I/O threads.
    spdlog::init_thread_pool(2048, 1);
    logger = std::make_shared<spdlog::async_logger>(
        "october", std::make_shared<spdlog::sinks::stdout_sink_mt>(), spdlog::thread_pool(),
        spdlog::async_overflow_policy::overrun_oldest);
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ",%v})", spdlog::pattern_time_type::utc);
    logger->flush_on(spdlog::level::trace);
    spdlog::register_logger(logger);
  }
  logger->set_level(to_spdlog(level));
}

void shutdown() {
  std::lock_guard lock(init_mutex);
  // Join the writer thread first (it writes what is queued), then drop our reference: the
  // last one must not be released by the writer while this thread releases its own.
  spdlog::shutdown();
  logger.reset();
}

bool enabled(Level level) { return static_cast<int>(level) >= current_level.load(); }

void write(Level level, std::string_view msg, const boost::json::object& fields) {
  if (!enabled(level) || !logger) return;
  std::string line = "\"level\":\"";
  line += level_name(level);
  line += "\",\"msg\":";
  line += boost::json::serialize(boost::json::string_view(msg.data(), msg.size()));
  if (!fields.empty()) {
    std::string rest = to_json(fields);
    line += ',';
    line.append(rest, 1, rest.size() - 2);  // the fields without their braces
  }
  logger->log(to_spdlog(level), spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace october::log
