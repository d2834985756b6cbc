#pragma once
// The WebSocket side of an upgraded connection (Beast's websocket::stream): the handshake, then
// every message echoed, with the message size limit, idle timeout and keep-alive pings of a
// WebSocketEcho. Beast's websocket headers stay in websocket.cpp.
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>

#include "http/types.hpp"

namespace october::http::detail {

class WebSocketSession {
 public:
  WebSocketSession(boost::beast::tcp_stream stream, WebSocketEcho echo);
  ~WebSocketSession();
  WebSocketSession(const WebSocketSession&) = delete;
  WebSocketSession& operator=(const WebSocketSession&) = delete;

  // Answers the upgrade `request` and echoes until the peer closes, a limit closes it or
  // close() is called. `owner` is kept alive meanwhile (the Session this belongs to).
  void start(const boost::beast::http::request<boost::beast::http::string_body>& request,
             std::shared_ptr<void> owner, std::function<void(bool accepted)> handshake_done);
  // A draining server: close with 1001 (going away). Run on the connection's I/O thread.
  void close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace october::http::detail
