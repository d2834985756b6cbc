#pragma once
// Structured logs: one JSON object per line on stdout, written by a background thread so a
// request never waits on the terminal or the pipe.
#include <boost/json/object.hpp>
#include <optional>
#include <string_view>

namespace october::log {

enum class Level { debug, info, warning, error, critical };

std::optional<Level> parse_level(std::string_view name);

// Call once at start-up; safe to call again (tests) to change the level.
void init(Level level);
void shutdown();

bool enabled(Level level);

// Writes {"ts":..., "level":..., "msg": msg, ...fields}.
void write(Level level, std::string_view msg, const boost::json::object& fields = {});

inline void info(std::string_view msg, const boost::json::object& fields = {}) {
  write(Level::info, msg, fields);
}
inline void warn(std::string_view msg, const boost::json::object& fields = {}) {
  write(Level::warning, msg, fields);
}
inline void error(std::string_view msg, const boost::json::object& fields = {}) {
  write(Level::error, msg, fields);
}

}  // namespace october::log
