#pragma once
// The page GET / serves to browsers (src/api/page.html, embedded at build time): which requests
// get it instead of JSON, the checks on UI_COLOR and UI_MESSAGE, and filling in its values.
#include <cstddef>
#include <string>
#include <string_view>

namespace october::api {

// Canary demos set a short banner; a bound keeps the page small and the setting honest.
inline constexpr std::size_t kMaxUiMessageBytes = 500;

// UI_COLOR: #rgb, #rgba, #rrggbb, #rrggbbaa or one of the named colours ui_color_names() lists.
// Both throw std::invalid_argument saying what is allowed.
void validate_ui_color(const std::string& value);
// UI_MESSAGE: at most kMaxUiMessageBytes bytes of valid UTF-8 without control characters.
void validate_ui_message(const std::string& value);
// The named colours UI_COLOR accepts, comma-separated (for the error text and --help).
std::string_view ui_color_names();

// &, <, >, " and ' as character references, so any text is shown and never parsed.
std::string html_escape(std::string_view text);

// True when an Accept header ranks text/html above application/json (q values and wildcards
// as RFC 9110 weighs them). No header, */* or equal weights keep the JSON answer.
bool prefers_html(std::string_view accept);

struct PageValues {
  std::string service;
  std::string version;
  std::string revision;
  std::string hostname;
  double uptime_seconds = 0;
  std::string color;
  std::string message;
};

// `page` with each {{name}} of PageValues replaced by its HTML-escaped value; other text as is.
std::string render_page(std::string_view page, const PageValues& values);
// The embedded page, rendered.
std::string ui_page(const PageValues& values);

}  // namespace october::api
