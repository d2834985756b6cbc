#include "celery/events.hpp"

#include <array>
#include <boost/json/array.hpp>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <utility>

#include "celery/kombu.hpp"

namespace october::celery {

namespace json = boost::json;

std::int64_t local_utcoffset() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  // Python's time.timezone // 3600: seconds west of UTC, floored.
  return static_cast<std::int64_t>(std::floor(static_cast<double>(-local.tm_gmtoff) / 3600.0));
}

json::object make_event(std::string_view type, const EventSource& source, std::int64_t clock,
                        double timestamp, const json::object& fields) {
  json::object event{{"hostname", source.hostname},
                     {"utcoffset", source.utcoffset},
                     {"pid", source.pid},
                     {"clock", clock}};
  for (const auto& [key, value] : fields) event[key] = value;
  event["timestamp"] = timestamp;
  event["type"] = type;
  return event;
}

std::string event_routing_key(std::string_view type) {
  std::string key(type);
  for (char& c : key) {
    if (c == '-') c = '.';
  }
  return key;
}

std::string encode_event(const json::object& event, std::string_view hostname) {
  const json::value* type = event.if_contains("type");
  std::string routing_key =
      type != nullptr && type->is_string() ? event_routing_key(type->get_string()) : "";
  return encode_kombu_message(event, {{"hostname", hostname}}, kEventExchange, routing_key, 1);
}

json::object worker_fields(std::int64_t active, std::int64_t processed, std::string_view sw_ver) {
  std::array<double, 3> load{};
  json::array loadavg;
  if (getloadavg(load.data(), 3) == 3) {
    // Celery rounds to two places (os.getloadavg through round(x, 2)).
    for (double value : load) loadavg.push_back(std::round(value * 100) / 100);
  }
  return {{"freq", kHeartbeatSeconds},
          {"active", active},
          {"processed", processed},
          {"loadavg", loadavg},
          {"sw_ident", "october-worker"},
          {"sw_ver", sw_ver},
          {"sw_sys", "Linux"}};
}

}  // namespace october::celery
