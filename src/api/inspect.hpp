#pragma once
// What GET /headers and GET /env show: the request's header fields and the process environment,
// with secrets masked before they leave the process.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace october::api {

// Field names lower-cased (they are case-insensitive, and HTTP/2 spells them so) → the value as
// a string, or, for a field received more than once, a list of its values in the order received.
boost::json::object headers_json(const std::vector<std::pair<std::string, std::string>>& headers);

// True for names containing PASSWORD, SECRET, TOKEN or KEY, in any case.
bool looks_secret(std::string_view name);

// The password of every URL with userinfo in `value` replaced by "***"
// ("redis://:pw@h:6379/0" → "redis://:***@h:6379/0"); a user name without a password is kept.
std::string mask_url_passwords(std::string_view value);

// What GET /env shows for one variable: "***" for a secret-looking name, else the value with
// URL passwords masked.
std::string masked_env_value(std::string_view name, std::string_view value);

// "NAME=value" entries (as in environ) → {NAME: masked value}.
boost::json::object environment_json(const char* const* environ_entries);

}  // namespace october::api
