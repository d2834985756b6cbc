#include "celery/timestamps.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include "core/parse.hpp"

namespace october::celery {

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double parse_iso8601(std::string_view text) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int consumed = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2u-%2u%*1[T ]%2d:%2d:%2d%n", &year, &month, &day, &hour,
                  &minute, &second, &consumed) != 6) {
    throw std::invalid_argument("'" + copy + "' is not an ISO-8601 timestamp");
  }
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  double fraction = 0;
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    std::string decimal = "0";
    decimal += rest.substr(0, digits);  // appended, not operator+: GCC 12 warns -Wrestrict there
    fraction = parse_double(decimal).value_or(0);
    rest = rest.substr(digits);
  }
  int offset_seconds = 0;
  if (rest == "Z" || rest.empty()) {
    offset_seconds = 0;
  } else if ((rest.front() == '+' || rest.front() == '-') && rest.size() == 6 && rest[3] == ':') {
    auto hours = parse_int(rest.substr(1, 2));
    auto minutes = parse_int(rest.substr(4, 2));
    if (!hours || !minutes) throw std::invalid_argument("bad UTC offset in '" + copy + "'");
    offset_seconds = static_cast<int>(*hours * 3600 + *minutes * 60);
    if (rest.front() == '-') offset_seconds = -offset_seconds;
  } else {
    throw std::invalid_argument("bad UTC offset in '" + copy + "'");
  }
  std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                   std::chrono::day{day}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) {
    throw std::invalid_argument("'" + copy + "' is not a valid date and time");
  }
  auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return static_cast<double>(days) * 86400.0 + hour * 3600.0 + minute * 60.0 + second + fraction -
         offset_seconds;
}

std::string format_iso8601(double unix_seconds, bool with_offset) {
  auto whole = static_cast<std::int64_t>(std::floor(unix_seconds));
  auto micros =
      static_cast<std::int64_t>(std::llround((unix_seconds - static_cast<double>(whole)) * 1e6));
  if (micros >= 1000000) {
    ++whole;
    micros -= 1000000;
  }
  auto day_count = whole >= 0 ? whole / 86400 : (whole - 86399) / 86400;
  auto in_day = whole - day_count * 86400;
  std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{day_count}}};
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%06lld%s",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(in_day / 3600),
                static_cast<int>(in_day % 3600 / 60), static_cast<int>(in_day % 60),
                static_cast<long long>(micros), with_offset ? "+00:00" : "");
  return buf.data();
}

}  // namespace october::celery
