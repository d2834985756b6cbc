#include "http/types.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json/object.hpp>

#include "core/json_text.hpp"

namespace october::http {

std::string_view Request::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (boost::algorithm::iequals(field, name)) return value;
  }
  return {};
}

Response json_error(int status, std::string_view code, std::string_view detail) {
  Response response;
  response.status = status;
  response.body = to_json(boost::json::object{{"error", code}, {"detail", detail}});
  return response;
}

}  // namespace october::http
