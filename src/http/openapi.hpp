#pragma once
// The OpenAPI document is built from the routes' own parameter specs, the ones the router
// validates requests with, so the published contract cannot drift from what is enforced.
#include <string>
#include <string_view>

#include "http/router.hpp"

namespace october::http {

// OpenAPI 3.0 document (JSON text) describing every route of `router`.
std::string openapi_document(const Router& router, std::string_view title,
                             std::string_view version);

}  // namespace october::http
