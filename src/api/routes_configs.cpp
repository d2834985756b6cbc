// GET /configs: the files of CONFIG_DIR (a mounted ConfigMap) as the watcher last read them.
#include "api/routes.hpp"
#include "configdir/watcher.hpp"

namespace october::api {

namespace {

Response configs(const configdir::Watcher* watcher) {
  if (watcher == nullptr) {
    return http::json_error(404, "not_configured",
                            "CONFIG_DIR is not set: no configuration directory is mounted");
  }
  auto snapshot = watcher->snapshot();
  if (!snapshot->error.empty()) {
    return retry_later(503, "config_dir_unreadable", snapshot->error);
  }
  boost::json::object omitted;
  for (const auto& [name, why] : snapshot->omitted) omitted[name] = why;
  return json_response({{"directory", watcher->directory()},
                        {"files", snapshot->files},
                        {"omitted", std::move(omitted)},
                        {"files_over_limit", snapshot->files_over_limit},
                        {"reloads", watcher->reloads()},
                        {"read_at", watcher->last_read_unix_seconds()}});
}

}  // namespace

void register_configs(http::Router& router, const configdir::Watcher* watcher) {
  router.add({.method = "GET",
              .path = "/configs",
              .summary = "The files of CONFIG_DIR as {files: {name: text or {base64}}}, re-read "
                         "when they change (inotify, the ConfigMap ..data swap included)",
              .error_statuses = {404, 503},
              .handler = [watcher](Request&, const Params&, const Responder& out) {
                out.send(configs(watcher));
              }});
}

}  // namespace october::api
