#pragma once
// What handlers see of HTTP: plain structs, no Boost.Beast, so handler code compiles fast and
// can be unit-tested without a socket.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics.hpp"

namespace october::http {

struct Request {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // raw, without '?'
  std::string body;
  std::string content_type;
  std::string request_id;
  // W3C Trace Context of this server's span (http/trace_context.hpp): the caller's trace id, or
  // a new one, and the traceparent value this server answers and passes on.
  std::string trace_id;
  std::string traceparent;
  // Every header field as received (names as the client spelled them, repeats kept in order).
  std::vector<std::pair<std::string, std::string>> headers;
  // Filled in by the router.
  std::string_view route = "unmatched";
  std::vector<std::string> path_params;
  // PATH_PREFIX, for links an answer gives (e.g. a Location): they work whether the client came
  // through a rewriting ingress, a non-rewriting one or straight to the pod.
  std::string_view link_prefix;

  // The first value of a header field, matched without regard to case; empty when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": code, "detail": detail} with the given status.
Response json_error(int status, std::string_view code, std::string_view detail);

// A response sent in parts with chunked transfer coding, held by the handler between parts (on
// timers, never a sleeping thread). One write at a time: `done` runs on the connection's I/O
// thread once the chunk is written (true) or could not be (false: the client is gone, a write
// timed out, or the server is draining and ended the response cleanly at this chunk boundary);
// after false, stop writing. finish() ends the response; dropping the writer finishes it too.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual void write_chunk(std::string data, std::function<void(bool written)> done) = 0;
  virtual void finish() = 0;
};

// A WebSocket echo the server runs on an upgraded connection: every message back as it came
// (text or binary); a message over the limit closes with 1009. Half of `idle_timeout` without a
// frame from the client and the server pings; the whole of it and the connection is closed, so
// a live client's pong keeps it open.
struct WebSocketEcho {
  std::size_t max_message_bytes = 65536;
  std::chrono::milliseconds idle_timeout{60000};
  metrics::Gauge* open = nullptr;        // connections echoing now
  metrics::Counter* messages = nullptr;  // messages echoed
};

// A handler answers through a Responder exactly once, from any thread. The connection stays
// open meanwhile; `after` runs a continuation on the connection's I/O thread once the delay has
// passed, holding no thread while it waits.
class Responder {
 public:
  class Channel {
   public:
    virtual ~Channel() = default;
    virtual void send(Response response) = 0;
    virtual void after(std::chrono::steady_clock::duration delay,
                       std::function<void()> continuation) = 0;
    // The answer as a stream (`head`: status, content type, headers; its body is ignored), or
    // nullptr when the channel cannot stream: Responder::stream then collects the chunks and
    // sends them as one response when finished (a channel without a socket, in unit tests).
    virtual std::shared_ptr<StreamWriter> stream(const Response& /*head*/) { return nullptr; }
    // Takes the connection over for a WebSocket echo (the request must be an upgrade; the
    // handshake answer, 101 or Beast's 400, is the response). False when the channel has no
    // connection to take over.
    virtual bool echo_websocket(const WebSocketEcho& /*echo*/) { return false; }
  };

  explicit Responder(std::shared_ptr<Channel> channel) : channel_(std::move(channel)) {}

  void send(Response response) const { channel_->send(std::move(response)); }
  void after(std::chrono::steady_clock::duration delay, std::function<void()> continuation) const {
    channel_->after(delay, std::move(continuation));
  }
  // Answers with a stream instead of send().
  [[nodiscard]] std::shared_ptr<StreamWriter> stream(Response head) const;
  // Instead of send(): see Channel::echo_websocket.
  [[nodiscard]] bool echo_websocket(const WebSocketEcho& echo) const {
    return channel_->echo_websocket(echo);
  }

 private:
  std::shared_ptr<Channel> channel_;
};

using Handler = std::function<void(Request&, const Responder&)>;

}  // namespace october::http
