#include "core/json_text.hpp"

#include <array>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

namespace october {

void append_json(std::string& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(key));
        out += ':';
        append_json(out, item);
      }
      out += '}';
      break;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value.get_array()) {
        if (!first) out += ',';
        first = false;
        append_json(out, item);
      }
      out += ']';
      break;
    }
    case boost::json::kind::double_: {
      double number = value.get_double();
      if (!std::isfinite(number)) {
        out += "null";  // JSON has no NaN or infinity
        break;
      }
      std::array<char, 32> buf{};
      auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), number);
      std::string_view text(buf.data(), static_cast<std::size_t>(end - buf.data()));
      out += text;
      if (text.find_first_of(".e") == std::string_view::npos) out += ".0";  // stays a float
      break;
    }
    default:
      out += boost::json::serialize(value);
  }
}

std::string to_json(const boost::json::value& value) {
  std::string out;
  out.reserve(128);
  append_json(out, value);
  return out;
}

}  // namespace october
