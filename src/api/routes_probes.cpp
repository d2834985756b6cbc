// GET /healthz, /ready, /readyz, /metrics, /version and /. Probes stay up under fault injection.

#include <filesystem>

#include "api/routes.hpp"
#include "api/ui.hpp"
#include "core/build_info.hpp"
#include "core/host_name.hpp"
#include "http/probes.hpp"

namespace october::api {

namespace {

std::size_t thread_count() {
  std::error_code ec;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
}

// Browsers (Accept ranking text/html first) get the page; every other client the JSON.
void root(const ApiState& state, const Request& request, const Responder& out) {
  if (prefers_html(request.header("Accept"))) {
    Response page;
    page.content_type = "text/html; charset=utf-8";
    page.headers.emplace_back("Vary", "Accept");
    page.body = ui_page({.service = "october-api",
                         .version = std::string(build_info::version()),
                         .revision = std::string(build_info::revision()),
                         .hostname = std::string(host_name()),
                         .uptime_seconds = seconds_since(state.started),
                         .color = state.config.ui_color,
                         .message = state.config.ui_message});
    out.send(std::move(page));
    return;
  }
  const Runtime& runtime = state.runtime;
  out.send(json_response(
      {{"service", "october-api"},
       {"version", build_info::version()},
       {"revision", build_info::revision()},
       {"hostname", host_name()},
       {"uptime_seconds", seconds_since(state.started)},
       {"threads", thread_count()},
       {"connections", runtime.open_connections()},
       {"requests_in_flight", static_cast<std::int64_t>(runtime.requests_in_flight())},
       {"compute_threads", runtime.pool.threads()},
       {"compute_queue_depth", runtime.pool.queued()},
       {"ready", state.is_ready()},
       {"fault_injection", state.fault_injection.load()}}));
}

}  // namespace

void register_probes(http::Router& router, const ApiState& state) {
  http::add_probe_routes(router,
                         {.registry = state.runtime.registry,
                          .not_ready_reason = [&state] { return state.not_ready_reason(); },
                          .liveness_failure = [&state] { return state.liveness_failure(); }});
  router.add({.method = "GET",
              .path = "/version",
              .summary = "Version and revision",
              .handler = [](Request&, const Params&, const Responder& out) {
                out.send(json_response({{"service", "october-api"},
                                        {"version", build_info::version()},
                                        {"revision", build_info::revision()}}));
              }});
  router.add(
      {.method = "GET",
       .path = "/",
       .summary = "Runtime information as JSON, or the HTML page when Accept prefers text/html",
       .handler = [&state](Request& request, const Params&, const Responder& out) {
         root(state, request, out);
       }});
}

}  // namespace october::api
