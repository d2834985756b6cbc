// POST /store and GET /store/{hash}: content-addressed files in DATA_DIR (content_store.cpp).
// Hashing and disk writes (with fsync) take time, so both run on the compute pool.
#include <cerrno>
#include <memory>
#include <system_error>

#include "api/content_store.hpp"
#include "api/routes.hpp"
#include "core/log.hpp"

namespace october::api {

namespace {

using http::json_error;

Response disabled() {
  return json_error(503, "store_disabled",
                    "DATA_DIR is not set: POST /store and GET /store/{hash} need a writable "
                    "directory (the chart mounts one)");
}

Response busy() { return retry_later(503, "overloaded", "the compute pool is full; retry later"); }

Response store(ContentStore& content, const std::string& body) {
  try {
    auto stored = content.put(body);
    auto response = json_response({{"hash", stored.hash},
                                   {"size", stored.size},
                                   {"created", stored.created},
                                   {"url", "/store/" + stored.hash}},
                                  stored.created ? 201 : 200);
    response.headers.emplace_back("Location", "/store/" + stored.hash);
    return response;
  } catch (const StoreLimit& limit) {
    return limit.setting == "STORE_MAX_BYTES" ? json_error(413, "too_large", limit.what())
                                              : json_error(507, "store_full", limit.what());
  } catch (const std::system_error& e) {
    log::warn("store write failed", {{"error", e.what()}});
    bool no_space = e.code().value() == ENOSPC || e.code().value() == EDQUOT;
    return no_space ? json_error(507, "insufficient_storage", e.what())
                    : json_error(500, "store_error", e.what());
  }
}

}  // namespace

void register_store(http::Router& router, ApiState& state) {
  const ApiConfig& config = state.config;
  std::shared_ptr<ContentStore> content;
  if (!config.data_dir.empty()) {
    content = std::make_shared<ContentStore>(config.data_dir,
                                             static_cast<std::uint64_t>(config.store_max_bytes),
                                             static_cast<std::uint64_t>(config.store_max_files));
    state.runtime.registry.callback(
        "october_store_objects", "Objects in DATA_DIR stored by POST /store.", metrics::Type::gauge,
        [content] { return static_cast<double>(content->count()); });
  }
  ComputePool& pool = state.runtime.pool;
  router.add({.method = "POST",
              .path = "/store",
              .summary = "Store the body in DATA_DIR under its SHA-256: {hash, size, created} "
                         "(201 new, 200 already stored); at most STORE_MAX_BYTES (" +
                         std::to_string(config.store_max_bytes) + ") bytes and STORE_MAX_FILES (" +
                         std::to_string(config.store_max_files) + ") objects",
              .error_statuses = {413, 503, 507},
              .handler = [content, &pool](http::Request& request, const http::Params&,
                                          const http::Responder& out) {
                if (!content) {
                  out.send(disabled());
                  return;
                }
                bool accepted = pool.try_submit([content, out, body = std::move(request.body)] {
                  out.send(store(*content, body));
                });
                if (!accepted) out.send(busy());
              }});
  router.add({.method = "GET",
              .path = "/store/{hash}",
              .summary = "Content stored by POST /store (application/octet-stream)",
              .params = {{.name = "hash",
                          .kind = http::ParamSpec::Kind::identifier,
                          .min = 64,
                          .max = 64,
                          .in_path = true,
                          .description = "SHA-256 of the content: 64 lowercase hex digits"}},
              .error_statuses = {400, 404, 503},
              .handler = [content, &pool](http::Request&, const http::Params& params,
                                          const http::Responder& out) {
                const std::string& hash = params.text("hash");
                if (!is_sha256_hex(hash)) {
                  out.send(json_error(
                      400, "invalid_parameter",
                      "hash must be 64 lowercase hex digits (a SHA-256), got '" + hash + "'"));
                  return;
                }
                if (!content) {
                  out.send(disabled());
                  return;
                }
                bool accepted = pool.try_submit([content, out, hash] {
                  auto found = content->get(hash);
                  if (!found) {
                    out.send(json_error(404, "not_found", "nothing is stored under hash " + hash));
                    return;
                  }
                  Response response;
                  response.body = std::move(*found);
                  response.content_type = "application/octet-stream";
                  out.send(std::move(response));
                });
                if (!accepted) out.send(busy());
              }});
}

}  // namespace october::api
