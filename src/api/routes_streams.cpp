// Streamed answers: GET /chunked/{seconds}, one chunk of chunked transfer coding per interval,
// each held on a timer of the connection's I/O thread (no thread waits between chunks), and
// GET /ws/echo, a WebSocket echo the server runs on the upgraded connection.
#include <boost/algorithm/string/predicate.hpp>
#include <cmath>
#include <memory>

#include "api/routes.hpp"
#include "core/json_text.hpp"

namespace october::api {

namespace {

constexpr double kMaxChunkedSeconds = 60;
constexpr double kMinInterval = 0.1;
constexpr double kMaxInterval = 10;

// One stream's progress: chunk `next` of `count` is due at `started + next * interval`.
struct Chunking {
  Responder out;
  std::shared_ptr<http::StreamWriter> writer;
  std::int64_t count = 0;
  std::int64_t next = 1;
  double interval = 1;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

void schedule_next(const std::shared_ptr<Chunking>& state) {
  // Due times count from the start, so a late timer does not push every later chunk back.
  auto due = state->started + seconds(static_cast<double>(state->next) * state->interval);
  state->out.after(due - std::chrono::steady_clock::now(), [state] {
    std::string line =
        to_json(boost::json::object{{"chunk", state->next},
                                    {"of", state->count},
                                    {"elapsed_seconds", seconds_since(state->started)}}) +
        "\n";
    state->writer->write_chunk(std::move(line), [state](bool written) {
      // Not written: the client left, stopped reading, or the server is draining and ended the
      // response at this chunk; either way there is nothing more to send.
      if (!written || state->next == state->count) {
        state->writer->finish();
        return;
      }
      ++state->next;
      schedule_next(state);
    });
  });
}

}  // namespace

void register_streams(http::Router& router, ApiState& state) {
  http::ParamSpec duration = in_path(number_param("seconds", 1, kMaxChunkedSeconds, "1",
                                                  "how long the response streams, in seconds"));
  router.add({.method = "GET",
              .path = "/chunked/{seconds}",
              .summary =
                  "Chunked transfer: one JSON line {chunk, of, elapsed_seconds} per interval for "
                  "`seconds`; a draining server ends the stream cleanly at the next chunk",
              .params = {duration, number_param("interval", kMinInterval, kMaxInterval, "1",
                                                "seconds between chunks")},
              .handler = [](Request&, const Params& params, const Responder& out) {
                auto state = std::make_shared<Chunking>(Chunking{.out = out});
                state->interval = params.number("interval");
                state->count = std::max<std::int64_t>(
                    1, static_cast<std::int64_t>(
                           std::ceil(params.number("seconds") / state->interval - 1e-9)));
                Response head;
                head.content_type = "application/x-ndjson";
                state->writer = out.stream(std::move(head));
                schedule_next(state);
              }});
  auto& registry = state.runtime.registry;
  http::WebSocketEcho echo{
      .max_message_bytes = static_cast<std::size_t>(state.config.ws_max_message_bytes),
      .idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::duration<double>(state.config.ws_idle_timeout_seconds)),
      .open = &registry.gauge("october_websocket_connections", "Open WebSocket connections.").get(),
      .messages = &registry
                       .counter("october_websocket_messages_total",
                                "WebSocket messages echoed by GET /ws/echo.")
                       .get()};
  router.add(
      {.method = "GET",
       .path = "/ws/echo",
       .summary = "WebSocket echo (upgrade with Connection: Upgrade, Upgrade: websocket): every "
                  "text or binary message back; over WS_MAX_MESSAGE_BYTES closes with 1009, "
                  "silent for WS_IDLE_TIMEOUT closes (a ping at half of it)",
       .error_statuses = {426},
       .handler = [echo](Request& request, const Params&, const Responder& out) {
         if (!boost::algorithm::iequals(request.header("Upgrade"), "websocket")) {
           auto refused = http::json_error(
               426, "upgrade_required",
               "GET /ws/echo is a WebSocket endpoint: send Connection: Upgrade and Upgrade: "
               "websocket (RFC 6455)");
           refused.headers.emplace_back("Upgrade", "websocket");
           out.send(std::move(refused));
           return;
         }
         if (!out.echo_websocket(echo)) {
           out.send(http::json_error(500, "internal_error", "this connection cannot upgrade"));
         }
       }});
}

}  // namespace october::api
