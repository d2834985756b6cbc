// Drills: the readiness and fault-injection switches, the guard that fails every other route while
// fault injection is on, and answers that are slow, fail, or carry a chosen status.
#include "api/routes.hpp"
#include "core/log.hpp"

namespace october::api {

namespace {

// A drill switch: POST <prefix>/enable and <prefix>/disable set `flag`, log `event` and answer
// {"<key>": value}.
struct Switch {
  std::string prefix;
  std::string summary;
  std::string event;
  std::string key;
  std::atomic<bool>& flag;
};

void add_switch(http::Router& router, const Switch& spec, bool enable) {
  router.add({.method = "POST",
              .path = spec.prefix + (enable ? "/enable" : "/disable"),
              .summary = spec.summary,
              .always_available = true,
              .handler = [&flag = spec.flag, event = spec.event, key = spec.key, enable](
                             Request&, const Params&, const Responder& out) {
                flag = enable;
                log::info(event, {{key, enable}});
                out.send(json_response({{key, enable}}));
              }});
}

// Answers {"delay_seconds": d} after the number of seconds in parameter `name`.
auto sleep_then_answer(const std::string& name) {
  return [name](Request&, const Params& params, const Responder& out) {
    const double delay = params.number(name);
    out.after(seconds(delay), [out, delay] {
      out.send(json_response({{"delay_seconds", delay}}));
    });
  };
}

}  // namespace

void register_drills(http::Router& router, ApiState& state) {
  router.set_guard(
      [&state](const http::Route& route, const http::Request&) -> std::optional<Response> {
        if (state.fault_injection && !route.always_available) {
          return http::json_error(500, "fault_injected",
                                  "fault injection is enabled; POST /fault/disable to turn it off");
        }
        return std::nullopt;
      });
  const Switch readiness{.prefix = "/ready",
                         .summary = "Readiness drill switch",
                         .event = "readiness switch",
                         .key = "ready_enabled",
                         .flag = state.ready_enabled};
  const Switch faults{.prefix = "/fault",
                      .summary = "Fault-injection drill switch",
                      .event = "fault injection switch",
                      .key = "fault_injection",
                      .flag = state.fault_injection};
  for (bool enable : {false, true}) {
    add_switch(router, readiness, enable);
    add_switch(router, faults, enable);
  }
  router.add({.method = "GET",
              .path = "/slow",
              .summary = "Answer after an async timer (holds no thread)",
              .params = {number_param("delay", 0.1, 30, "1", "seconds before the answer")},
              .handler = sleep_then_answer("delay")});
  router.add({.method = "GET",
              .path = "/delay/{seconds}",
              .summary = "Answer after an async timer",
              .params = {in_path(number_param("seconds", 0, 30, "", "seconds before the answer"))},
              .handler = sleep_then_answer("seconds")});
  router.add({.method = "GET",
              .path = "/error-test",
              .summary = "Always 500",
              .error_statuses = {500},
              .handler = [](Request&, const Params&, const Responder& out) {
                out.send(
                    http::json_error(500, "internal_error", "intentional error from /error-test"));
              }});
  router.add(
      {.method = "GET",
       .path = "/status/{code}",
       .summary = "Answer with the given status",
       .params = {in_path(integer_param("code", 200, 599, "", "HTTP status to answer with"))},
       .handler = [](Request&, const Params& params, const Responder& out) {
         auto code = params.integer("code");
         out.send(json_response({{"status", code}}, static_cast<int>(code)));
       }});
}

}  // namespace october::api
