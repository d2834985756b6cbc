// Drills: the liveness, readiness and fault-injection switches, the guard that fails every other
// route while fault injection is on, the random-fault knobs and their status, GET /panic, and
// answers that are slow, fail, or carry a chosen status.
#include <cstdlib>

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

boost::json::object random_status(const RandomFaults& faults) {
  const DelayRange delay = faults.delay();
  return {{"delay_min_ms", delay.min_ms},
          {"delay_max_ms", delay.max_ms},
          {"error_percent", faults.error_percent()},
          {"delays_injected", faults.delays_injected()},
          {"errors_injected", faults.errors_injected()}};
}

void add_fault_status(http::Router& router, ApiState& state) {
  router.add({.method = "GET",
              .path = "/fault",
              .summary = "The drill switches and random-fault settings now",
              .always_available = true,
              .handler = [&state](Request&, const Params&, const Responder& out) {
                out.send(json_response({{"fault_injection", state.fault_injection.load()},
                                        {"healthz_enabled", state.healthz_enabled.load()},
                                        {"fail_healthz", state.config.fail_healthz},
                                        {"ready_enabled", state.ready_enabled.load()},
                                        {"random", random_status(state.random_faults)}}));
              }});
  const auto max_ms = static_cast<double>(max_random_delay_ms);
  router.add(
      {.method = "POST",
       .path = "/fault/random",
       .summary = "Set the random faults of app routes (RANDOM_DELAY, RANDOM_ERROR_PERCENT); an "
                  "absent parameter is 0, so a bare POST turns them off",
       .params = {integer_param("delay_min_ms", 0, max_ms, "0", "least added delay in ms"),
                  integer_param("delay_max_ms", 0, max_ms, "0",
                                "largest added delay in ms, at least delay_min_ms; 0: no delay"),
                  number_param("error_percent", 0, 100, "0",
                               "share of app requests answered 500, in percent")},
       .always_available = true,
       .handler = [&state](Request&, const Params& params, const Responder& out) {
         const DelayRange delay{params.integer("delay_min_ms"), params.integer("delay_max_ms")};
         if (delay.max_ms < delay.min_ms) {
           out.send(http::json_error(400, "invalid_parameter",
                                     "delay_max_ms must be an integer between delay_min_ms (" +
                                         std::to_string(delay.min_ms) + ") and " +
                                         std::to_string(max_random_delay_ms) + ", got '" +
                                         params.text("delay_max_ms") + "'"));
           return;
         }
         state.random_faults.set(delay, params.number("error_percent"));
         auto status = random_status(state.random_faults);
         log::info("random faults switch", status);
         out.send(json_response({{"random", status}}));
       }});
}

void add_panic(http::Router& router, const ApiState& state) {
  router.add({.method = "GET",
              .path = "/panic",
              .summary = "Exit the process at once with status 1 (crash-loop drills); 403 unless "
                         "ENABLE_PANIC=true",
              .always_available = true,
              .error_statuses = {403},
              .handler = [&state](Request&, const Params&, const Responder& out) {
                if (!state.config.enable_panic) {
                  out.send(http::json_error(403, "panic_disabled",
                                            "GET /panic is off: it exits the process only when "
                                            "ENABLE_PANIC is true (it is false)"));
                  return;
                }
                log::error("panic: exiting with status 1",
                           {{"reason", "GET /panic with ENABLE_PANIC=true"}, {"exit_code", 1}});
                // Written out before leaving; nothing else is unwound, as in a real crash.
                log::shutdown();
                std::_Exit(1);
              }});
}

}  // namespace

void register_drills(http::Router& router, ApiState& state) {
  const Switch liveness{.prefix = "/healthz",
                        .summary = "Liveness drill switch (START_UNHEALTHY starts it disabled)",
                        .event = "liveness switch",
                        .key = "healthz_enabled",
                        .flag = state.healthz_enabled};
  const Switch readiness{.prefix = "/ready",
                         .summary = "Readiness drill switch (START_UNREADY starts it disabled)",
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
  for (bool enable : {false, true}) add_switch(router, liveness, enable);
  add_fault_status(router, state);
  add_panic(router, state);
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

void install_fault_guard(http::Router& router, const ApiState& state) {
  router.set_guard(
      [&state](const http::Route& route, const http::Request&) -> std::optional<Response> {
        if (state.fault_injection && !route.always_available) {
          return http::json_error(500, "fault_injected",
                                  "fault injection is enabled; POST /fault/disable to turn it off");
        }
        return std::nullopt;
      });
}

}  // namespace october::api
