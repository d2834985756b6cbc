#include "http/router.hpp"

#include <cmath>
#include <stdexcept>

#include "core/parse.hpp"

namespace october::http {

std::string ParamSpec::allowed() const {
  switch (kind) {
    case Kind::integer:
      return "an integer between " + format_double(min) + " and " + format_double(max);
    case Kind::number:
      return "a number between " + format_double(min) + " and " + format_double(max);
    case Kind::identifier:
      return format_double(min) + " to " + format_double(max) +
             " characters of letters, digits, '_' and '-'";
    case Kind::choice: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + choices[i];
      return out;
    }
  }
  return {};
}

std::int64_t Params::integer(const std::string& name) const {
  return static_cast<std::int64_t>(values_.at(name).number);
}
double Params::number(const std::string& name) const { return values_.at(name).number; }
const std::string& Params::text(const std::string& name) const { return values_.at(name).text; }
void Params::set(std::string name, std::string text, double value) {
  values_[std::move(name)] = Value{std::move(text), value};
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

// Returns the value as a number, or nullopt when it is not one of the spec's kind and range.
std::optional<double> check_value(const ParamSpec& spec, const std::string& raw) {
  switch (spec.kind) {
    case ParamSpec::Kind::integer: {
      auto value = parse_int(raw);
      if (!value || static_cast<double>(*value) < spec.min ||
          static_cast<double>(*value) > spec.max) {
        return std::nullopt;
      }
      return static_cast<double>(*value);
    }
    case ParamSpec::Kind::number: {
      auto value = parse_double(raw);
      if (!value || *value < spec.min || *value > spec.max) return std::nullopt;
      return *value;
    }
    case ParamSpec::Kind::identifier: {
      auto size = static_cast<double>(raw.size());
      if (size < spec.min || size > spec.max) return std::nullopt;
      for (char c : raw) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
          return std::nullopt;
        }
      }
      return 0.0;
    }
    case ParamSpec::Kind::choice:
      for (const auto& choice : spec.choices) {
        if (choice == raw) return 0.0;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view part = query.substr(start, end - start);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) {
        pairs.emplace_back(percent_decode(part), "");
      } else {
        pairs.emplace_back(percent_decode(part.substr(0, eq)), percent_decode(part.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return pairs;
}

std::optional<Response> validate_params(const std::vector<ParamSpec>& specs, const Request& request,
                                        Params& out) {
  if (specs.empty()) return std::nullopt;
  auto query = parse_query(request.query);
  std::size_t path_index = 0;
  for (const auto& spec : specs) {
    std::optional<std::string> raw;
    if (spec.in_path) {
      if (path_index < request.path_params.size()) raw = request.path_params[path_index++];
    } else {
      for (const auto& [name, value] : query) {
        if (name == spec.name) {
          raw = value;
          break;
        }
      }
    }
    if (!raw) {
      if (!spec.default_value) {
        return json_error(400, "missing_parameter", spec.name + " is required: " + spec.allowed());
      }
      raw = spec.default_value;
    }
    auto value = check_value(spec, *raw);
    if (!value) {
      return json_error(400, "invalid_parameter",
                        spec.name + " must be " + spec.allowed() + ", got '" + *raw + "'");
    }
    out.set(spec.name, *raw, *value);
  }
  return std::nullopt;
}

void check_path_prefix(std::string_view prefix) {
  if (prefix.empty()) return;
  constexpr std::size_t kMaxPrefix = 128;
  if (prefix.size() > kMaxPrefix) {
    throw std::invalid_argument("must be at most " + std::to_string(kMaxPrefix) + " characters");
  }
  if (prefix.front() != '/') throw std::invalid_argument("must start with '/'");
  if (prefix.back() == '/') throw std::invalid_argument("must not end with '/'");
  for (char c : prefix) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '~' && c != '/') {
      throw std::invalid_argument("may hold only letters, digits, '-', '_', '.', '~' and '/'");
    }
  }
  for (const auto& segment : split_path(prefix)) {
    if (segment.empty() || segment == "." || segment == "..") {
      throw std::invalid_argument("must not have an empty, '.' or '..' segment");
    }
  }
}

void Router::set_prefix(std::string prefix) {
  check_path_prefix(prefix);
  prefix_ = std::move(prefix);
}

void Router::add(Route route) {
  Template tmpl{split_path(route.path)};
  bool has_params = route.path.find('{') != std::string::npos;
  std::size_t index = routes_.size();
  if (has_params) {
    templated_.push_back(index);
  } else {
    exact_[route.path].push_back(index);
  }
  routes_.push_back(std::move(route));
  templates_.push_back(std::move(tmpl));
}

bool Router::matches(const Template& tmpl, std::string_view path,
                     std::vector<std::string>* params) const {
  auto segments = split_path(path);
  if (segments.size() != tmpl.segments.size()) return false;
  std::vector<std::string> found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& want = tmpl.segments[i];
    if (!want.empty() && want.front() == '{') {
      if (segments[i].empty()) return false;
      found.push_back(percent_decode(segments[i]));
    } else if (want != segments[i]) {
      return false;
    }
  }
  if (params != nullptr) *params = std::move(found);
  return true;
}

std::vector<std::size_t> Router::candidates(std::string_view path) const {
  if (auto it = exact_.find(std::string(path)); it != exact_.end()) return it->second;
  std::vector<std::size_t> found;
  for (std::size_t index : templated_) {
    if (matches(templates_[index], path, nullptr)) found.push_back(index);
  }
  return found;
}

void Router::dispatch(Request& request, const Responder& responder) const {
  request.link_prefix = prefix_;
  std::string_view path = request.path;
  std::vector<std::size_t> candidates = this->candidates(path);
  // The path as served is tried first, so a route that happens to start like the prefix stays
  // reachable; then the path under the prefix ("/october" itself is "/").
  if (candidates.empty() && !prefix_.empty() && path.starts_with(prefix_) &&
      (path.size() == prefix_.size() || path[prefix_.size()] == '/')) {
    path.remove_prefix(prefix_.size());
    if (path.empty()) path = "/";
    candidates = this->candidates(path);
  }
  if (candidates.empty()) {
    responder.send(json_error(404, "not_found", "no route for " + request.path));
    return;
  }
  std::string allow;
  for (std::size_t index : candidates) {
    const Route& route = routes_[index];
    if (route.method == request.method) {
      request.route = route.path;
      if (route.path.find('{') != std::string::npos) {
        (void)matches(templates_[index], path, &request.path_params);
      }
      if (guard_) {
        if (auto refused = guard_(route, request)) {
          responder.send(std::move(*refused));
          return;
        }
      }
      Params params;
      if (auto invalid = validate_params(route.params, request, params)) {
        responder.send(std::move(*invalid));
        return;
      }
      route.handler(request, params, responder);
      return;
    }
    allow += (allow.empty() ? "" : ", ") + route.method;
  }
  request.route = routes_[candidates.front()].path;
  auto response =
      json_error(405, "method_not_allowed",
                 request.method + " is not allowed on " + request.path + "; allowed: " + allow);
  response.headers.emplace_back("Allow", allow);
  responder.send(std::move(response));
}

}  // namespace october::http
