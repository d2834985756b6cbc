#include "api/routes.hpp"

#include "core/json_text.hpp"

namespace october::api {

using http::ParamSpec;
using http::Response;

Response json_response(const boost::json::object& body, int status) {
  Response response;
  response.status = status;
  response.body = to_json(body);
  return response;
}

Response retry_later(int status, std::string_view code, std::string_view detail) {
  auto response = http::json_error(status, code, detail);
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::chrono::steady_clock::duration seconds(double count) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(count));
}

ParamSpec integer_param(std::string name, double min, double max, std::string fallback,
                        std::string description) {
  return {.name = std::move(name),
          .kind = ParamSpec::Kind::integer,
          .min = min,
          .max = max,
          .default_value = std::move(fallback),
          .description = std::move(description)};
}

ParamSpec number_param(std::string name, double min, double max, std::string fallback,
                       std::string description) {
  ParamSpec spec =
      integer_param(std::move(name), min, max, std::move(fallback), std::move(description));
  spec.kind = ParamSpec::Kind::number;
  return spec;
}

ParamSpec in_path(ParamSpec spec) {
  spec.in_path = true;
  spec.default_value.reset();
  return spec;
}

}  // namespace october::api
