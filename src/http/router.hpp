#pragma once
// Routes requests by method and path template ("/status/{code}"), checks their parameters
// against declared specs, and answers 404/405/400 uniformly. The same specs generate the
// OpenAPI document, so validation and documentation cannot drift apart.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/types.hpp"

namespace october::http {

struct ParamSpec {
  // identifier: min..max characters of A-Z a-z 0-9 _ - (task ids and the like)
  enum class Kind { integer, number, choice, identifier };
  std::string name;
  Kind kind = Kind::integer;
  double min = 0;
  double max = 0;
  std::optional<std::string> default_value;  // none: required
  std::vector<std::string> choices;
  bool in_path = false;
  std::string description;

  // "an integer between 1 and 1000000000", "one of iterative, recursive"
  [[nodiscard]] std::string allowed() const;
};

class Params {
 public:
  [[nodiscard]] std::int64_t integer(const std::string& name) const;
  [[nodiscard]] double number(const std::string& name) const;
  [[nodiscard]] const std::string& text(const std::string& name) const;
  void set(std::string name, std::string text, double value);

 private:
  struct Value {
    std::string text;
    double number = 0;
  };
  std::map<std::string, Value, std::less<>> values_;
};

// Percent-decoded name/value pairs of a query string, in order.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

// Checks raw values against the specs; on success fills `out`, else returns the 400 response.
std::optional<Response> validate_params(const std::vector<ParamSpec>& specs, const Request& request,
                                        Params& out);

// What a route is comes first and its handler last, so a designated initializer reads as the
// spec, then the code that answers it.
struct Route {
  std::string method;
  std::string path;
  std::string summary;
  std::vector<ParamSpec> params;
  // Probes, metrics and the drill switches stay up while fault injection is on.
  bool always_available = false;
  // Documented statuses besides 200, for the OpenAPI document.
  std::vector<int> error_statuses;
  // JSON Schema of a JSON request body, for the OpenAPI document; empty when there is none.
  std::string request_schema;
  std::function<void(Request&, const Params&, const Responder&)> handler;
};

// Throws std::invalid_argument saying why `prefix` cannot be a path prefix: it must start with
// '/', not end with one, and hold 1..128 characters of letters, digits, '-', '_', '.', '~' and
// '/', with no empty, "." or ".." segment. Empty is accepted (no prefix).
void check_path_prefix(std::string_view prefix);

class Router {
 public:
  void add(Route route);

  // Every route is also served under `prefix` (PATH_PREFIX, for ingresses that do not rewrite
  // paths), with the same route template as its label. Checked with check_path_prefix.
  void set_prefix(std::string prefix);
  [[nodiscard]] const std::string& prefix() const { return prefix_; }

  // Runs before every matched handler; a returned response is sent instead.
  using Guard = std::function<std::optional<Response>(const Route&, const Request&)>;
  void set_guard(Guard guard) { guard_ = std::move(guard); }

  void dispatch(Request& request, const Responder& responder) const;

  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Template {
    std::vector<std::string> segments;  // "{x}" marks a parameter
  };
  [[nodiscard]] bool matches(const Template& tmpl, std::string_view path,
                             std::vector<std::string>* params) const;
  [[nodiscard]] std::vector<std::size_t> candidates(std::string_view path) const;

  std::vector<Route> routes_;
  std::vector<Template> templates_;
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;  // path → route indexes
  std::vector<std::size_t> templated_;
  Guard guard_;
  std::string prefix_;
};

}  // namespace october::http
