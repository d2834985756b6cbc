#pragma once
// JSON text for responses and logs. Boost.JSON 1.81 prints doubles as "2E-1"; this writes the
// shortest round-trip form people expect ("0.2", "1e-07") and is otherwise the same.
#include <boost/json/value.hpp>
#include <string>

namespace october {

std::string to_json(const boost::json::value& value);
void append_json(std::string& out, const boost::json::value& value);

}  // namespace october
