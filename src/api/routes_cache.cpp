// GET, PUT, POST and DELETE /cache/{key}; CacheEndpoints (cache_endpoints.cpp) answers them.
#include "api/cache_endpoints.hpp"
#include "api/routes.hpp"

namespace october::api {

namespace {

constexpr double kMaxKeyLength = 200;
constexpr double kMaxTtlSeconds = 30.0 * 24 * 3600;

http::ParamSpec key_param() {
  return {.name = "key",
          .kind = http::ParamSpec::Kind::identifier,
          .min = 1,
          .max = kMaxKeyLength,
          .in_path = true,
          .description = "cache key, stored in Redis as october:cache:<key>"};
}

http::ParamSpec ttl_param() {
  return integer_param("ttl", 0, kMaxTtlSeconds, "0",
                       "seconds until the entry expires; 0 keeps it until deleted");
}

}  // namespace

void register_cache(http::Router& router, CacheEndpoints& cache) {
  const std::string limit = std::to_string(cache.max_value_bytes());
  router.add(
      {.method = "GET",
       .path = "/cache/{key}",
       .summary = "The value stored under a key (application/octet-stream); 404 when absent",
       .params = {key_param()},
       .error_statuses = {404, 503},
       .handler = [&cache](http::Request&, const http::Params& params, const http::Responder& out) {
         cache.get(params.text("key"), out);
       }});
  router.add({.method = "PUT",
              .path = "/cache/{key}",
              .summary = "Store the request body under a key, replacing any value (200); at "
                         "most CACHE_MAX_VALUE_BYTES (" +
                         limit + ") bytes",
              .params = {key_param(), ttl_param()},
              .error_statuses = {413, 503},
              .handler = [&cache](http::Request& request, const http::Params& params,
                                  const http::Responder& out) {
                cache.put(params.text("key"), request, params.integer("ttl"), false, out);
              }});
  router.add({.method = "POST",
              .path = "/cache/{key}",
              .summary = "Store the request body under a key only if it holds nothing (201), "
                         "else 409; at most CACHE_MAX_VALUE_BYTES (" +
                         limit + ") bytes",
              .params = {key_param(), ttl_param()},
              .error_statuses = {409, 413, 503},
              .handler = [&cache](http::Request& request, const http::Params& params,
                                  const http::Responder& out) {
                cache.put(params.text("key"), request, params.integer("ttl"), true, out);
              }});
  router.add(
      {.method = "DELETE",
       .path = "/cache/{key}",
       .summary = "Delete a key (204); 404 when absent",
       .params = {key_param()},
       .error_statuses = {404, 503},
       .handler = [&cache](http::Request&, const http::Params& params, const http::Responder& out) {
         cache.remove(params.text("key"), out);
       }});
}

}  // namespace october::api
