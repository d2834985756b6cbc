#include "api/inspect.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace october::api {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

// Where a URL's authority ends: a path, query or fragment starts, or the text around it goes on
// (a comma or a blank separates URLs in list-valued variables).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ',' || c == ';' ||
         std::isspace(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

boost::json::object headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  boost::json::object out;
  for (const auto& [name, value] : headers) {
    const std::string key = lower(name);
    auto* seen = out.if_contains(key);
    if (seen == nullptr) {
      out[key] = value;
    } else if (seen->is_array()) {
      seen->as_array().emplace_back(value);
    } else {
      *seen = boost::json::array{seen->as_string(), boost::json::string(value)};
    }
  }
  return out;
}

bool looks_secret(std::string_view name) {
  const std::string lowered = lower(name);
  constexpr std::array<std::string_view, 4> markers{"password", "secret", "token", "key"};
  return std::any_of(markers.begin(), markers.end(), [&](std::string_view marker) {
    return lowered.find(marker) != std::string::npos;
  });
}

std::string mask_url_passwords(std::string_view value) {
  std::string out;
  std::size_t copied = 0;
  std::size_t search = 0;
  while (true) {
    const std::size_t sep = value.find("://", search);
    if (sep == std::string_view::npos) break;
    search = sep + 3;
    if (sep == 0 || !scheme_char(value[sep - 1])) continue;
    std::size_t end = search;
    while (end < value.size() && !ends_authority(value[end])) ++end;
    const std::string_view authority = value.substr(search, end - search);
    const std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    const std::size_t colon = authority.find(':');
    if (colon == std::string_view::npos || colon > at || colon + 1 == at) continue;
    // The password runs from after the first ':' of the userinfo to its '@'.
    out.append(value.substr(copied, search + colon + 1 - copied));
    out += "***";
    copied = search + at;
    search = end;
  }
  out.append(value.substr(copied));
  return out;
}

std::string masked_env_value(std::string_view name, std::string_view value) {
  if (looks_secret(name)) return "***";
  return mask_url_passwords(value);
}

boost::json::object environment_json(const char* const* environ_entries) {
  boost::json::object out;
  for (const char* const* entry = environ_entries; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    const std::string_view name = text.substr(0, eq);
    out[name] = masked_env_value(name, text.substr(eq + 1));
  }
  return out;
}

}  // namespace october::api
