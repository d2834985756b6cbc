#include "api/ui.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "api/embedded_page.hpp"  // generated from page.html

namespace october::api {

namespace {

// CSS named colours canary demos reach for; a fixed list, so a typo is refused at start.
constexpr std::array<std::string_view, 24> kColorNames = {
    "black",  "white",  "gray",   "silver", "red",     "maroon",  "orange", "gold",
    "yellow", "olive",  "lime",   "green",  "teal",    "cyan",    "aqua",   "blue",
    "navy",   "indigo", "purple", "violet", "magenta", "fuchsia", "pink",   "brown"};

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not well formed.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  const auto second = static_cast<unsigned char>(text[i + 1]);
  if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
  if (lead == 0xED && second > 0x9F) return 0;  // surrogates
  if (lead == 0xF0 && second < 0x90) return 0;  // overlong
  if (lead == 0xF4 && second > 0x8F) return 0;  // past U+10FFFF
  return length;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// One media range of an Accept header: its type, subtype and weight.
struct Range {
  std::string type;
  std::string subtype;
  double q = 1;
};

std::optional<Range> parse_range(std::string_view item) {
  auto semicolon = item.find(';');
  std::string_view media = trim(item.substr(0, semicolon));
  auto slash = media.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  Range range{.type = lower(trim(media.substr(0, slash))),
              .subtype = lower(trim(media.substr(slash + 1)))};
  while (semicolon != std::string_view::npos) {
    item.remove_prefix(semicolon + 1);
    semicolon = item.find(';');
    std::string_view param = trim(item.substr(0, semicolon));
    if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      double q = 0;
      auto value = param.substr(2);
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
      if (ec != std::errc() || end != value.data() + value.size() || q < 0 || q > 1) q = 0;
      range.q = q;
    }
  }
  return range;
}

// The weight the most specific matching range gives type/subtype (RFC 9110 12.5.1).
double weight(std::string_view accept, std::string_view type, std::string_view subtype) {
  int best_specificity = -1;
  double best = 0;
  std::size_t start = 0;
  while (start <= accept.size()) {
    auto comma = accept.find(',', start);
    auto item = accept.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (auto range = parse_range(item)) {
      int specificity = -1;
      if (range->type == type && range->subtype == subtype)
        specificity = 2;
      else if (range->type == type && range->subtype == "*")
        specificity = 1;
      else if (range->type == "*" && range->subtype == "*")
        specificity = 0;
      if (specificity > best_specificity) {
        best_specificity = specificity;
        best = range->q;
      }
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return best;
}

std::string format_seconds(double seconds) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.0f", seconds);
  return buffer.data();
}

}  // namespace

std::string_view ui_color_names() {
  static const std::string names = [] {
    std::string out;
    for (auto name : kColorNames) {
      if (!out.empty()) out += ", ";
      out += name;
    }
    return out;
  }();
  return names;
}

void validate_ui_color(const std::string& value) {
  if (!value.empty() && value[0] == '#') {
    const auto digits = value.size() - 1;
    if ((digits == 3 || digits == 4 || digits == 6 || digits == 8) &&
        std::all_of(value.begin() + 1, value.end(), is_hex)) {
      return;
    }
  } else if (std::find(kColorNames.begin(), kColorNames.end(), lower(value)) != kColorNames.end()) {
    return;
  }
  throw std::invalid_argument("'" + value +
                              "' is not a colour: expected #rgb, #rgba, #rrggbb, #rrggbbaa or "
                              "one of " +
                              std::string(ui_color_names()));
}

void validate_ui_message(const std::string& value) {
  if (value.size() > kMaxUiMessageBytes) {
    throw std::invalid_argument("is " + std::to_string(value.size()) + " bytes: at most " +
                                std::to_string(kMaxUiMessageBytes) + " allowed");
  }
  for (std::size_t i = 0; i < value.size();) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7F) {
      throw std::invalid_argument("holds a control character at byte " + std::to_string(i) +
                                  ": printable UTF-8 text only");
    }
    const auto length = utf8_length(value, i);
    if (length == 0) {
      throw std::invalid_argument("is not valid UTF-8 at byte " + std::to_string(i));
    }
    i += length;
  }
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool prefers_html(std::string_view accept) {
  if (trim(accept).empty()) return false;
  const double html = weight(accept, "text", "html");
  return html > 0 && html > weight(accept, "application", "json");
}

std::string render_page(std::string_view page, const PageValues& values) {
  const std::array<std::pair<std::string_view, std::string>, 7> fields = {{
      {"service", values.service},
      {"version", values.version},
      {"revision", values.revision},
      {"hostname", values.hostname},
      {"uptime_seconds", format_seconds(values.uptime_seconds)},
      {"color", values.color},
      {"message", values.message},
  }};
  std::string out;
  out.reserve(page.size() + 256);
  std::size_t at = 0;
  while (true) {
    auto open = page.find("{{", at);
    auto close = open == std::string_view::npos ? open : page.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    auto name = page.substr(open + 2, close - open - 2);
    auto field = std::find_if(fields.begin(), fields.end(),
                              [name](const auto& entry) { return entry.first == name; });
    out.append(page.substr(at, open - at));
    if (field == fields.end()) {
      out.append(page.substr(open, close + 2 - open));
    } else {
      out += html_escape(field->second);
    }
    at = close + 2;
  }
  out.append(page.substr(at));
  return out;
}

std::string ui_page(const PageValues& values) { return render_page(ui::kPage, values); }

}  // namespace october::api
