#include "http/openapi.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <string>

#include "core/json_text.hpp"
#include "core/parse.hpp"

namespace october::http {

namespace json = boost::json;

std::string openapi_document(const Router& router, std::string_view title,
                             std::string_view version) {
  json::object paths;
  for (const auto& route : router.routes()) {
    json::array parameters;
    for (const auto& spec : route.params) {
      json::object schema;
      switch (spec.kind) {
        case ParamSpec::Kind::integer:
          schema = {{"type", "integer"}, {"minimum", spec.min}, {"maximum", spec.max}};
          break;
        case ParamSpec::Kind::number:
          schema = {{"type", "number"}, {"minimum", spec.min}, {"maximum", spec.max}};
          break;
        case ParamSpec::Kind::identifier:
          schema = {{"type", "string"},
                    {"minLength", spec.min},
                    {"maxLength", spec.max},
                    {"pattern", "^[A-Za-z0-9_-]+$"}};
          break;
        case ParamSpec::Kind::choice: {
          json::array choices;
          for (const auto& c : spec.choices) choices.emplace_back(c);
          schema = {{"type", "string"}, {"enum", choices}};
          break;
        }
      }
      if (spec.default_value) {
        if (spec.kind == ParamSpec::Kind::choice || spec.kind == ParamSpec::Kind::identifier) {
          schema["default"] = *spec.default_value;
        } else {
          schema["default"] = *parse_double(*spec.default_value);
        }
      }
      parameters.push_back(json::object{{"name", spec.name},
                                        {"in", spec.in_path ? "path" : "query"},
                                        {"required", spec.in_path || !spec.default_value},
                                        {"description", spec.description},
                                        {"schema", schema}});
    }
    json::object responses{{"200", {{"description", "Success"}}}};
    json::object error_ref{{"$ref", "#/components/schemas/Error"}};
    for (int status : route.error_statuses) {
      responses[std::to_string(status)] = json::object{
          {"description", "Error"}, {"content", {{"application/json", {{"schema", error_ref}}}}}};
    }
    if (!route.params.empty()) {
      responses["400"] = json::object{{"description", "Invalid parameter"},
                                      {"content", {{"application/json", {{"schema", error_ref}}}}}};
    }
    std::string method = route.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    json::object operation{{"summary", route.summary}, {"responses", responses}};
    if (!parameters.empty()) operation["parameters"] = parameters;
    if (!route.request_schema.empty()) {
      operation["requestBody"] = json::object{
          {"required", true},
          {"content", {{"application/json", {{"schema", json::parse(route.request_schema)}}}}}};
    }
    auto& entry = paths[route.path];
    if (!entry.is_object()) entry.emplace_object();
    entry.as_object()[method] = operation;
  }
  json::object error_schema{
      {"type", "object"},
      {"required", json::array{"error", "detail"}},
      {"properties", {{"error", {{"type", "string"}}}, {"detail", {{"type", "string"}}}}}};
  json::object doc{{"openapi", "3.0.3"},
                   {"info", {{"title", title}, {"version", version}}},
                   {"paths", paths},
                   {"components", {{"schemas", {{"Error", error_schema}}}}}};
  // Behind an ingress on PATH_PREFIX, Swagger UI resolves this relative server against the page
  // it was loaded from, so its calls go through the same prefix; the paths stay the route
  // templates, the same as the metric labels.
  if (!router.prefix().empty()) {
    doc["servers"] = json::array{
        json::object{{"url", router.prefix()}, {"description", "this service under PATH_PREFIX"}}};
  }
  return to_json(doc);
}

}  // namespace october::http
