#include "http/websocket.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

namespace october::http::detail {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

struct WebSocketSession::State : std::enable_shared_from_this<State> {
  State(beast::tcp_stream stream, WebSocketEcho options)
      : socket(std::move(stream)), echo(options) {}

  void read();
  void on_read(beast::error_code ec);
  void finished();

  websocket::stream<beast::tcp_stream> socket;
  WebSocketEcho echo;
  beast::flat_buffer buffer;
  std::shared_ptr<void> owner;
  bool counted = false;
  bool closing = false;
};

void WebSocketSession::State::read() {
  socket.async_read(buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_read(ec);
  });
}

void WebSocketSession::State::on_read(beast::error_code ec) {
  if (ec == websocket::error::message_too_big) {
    // Beast fails the read; the peer is told why with 1009 before the connection goes.
    socket.async_close(websocket::close_code::too_big,
                       [self = shared_from_this()](beast::error_code) { self->finished(); });
    return;
  }
  if (ec) return finished();  // closed by the peer, idle timeout, reset
  if (echo.messages != nullptr) echo.messages->inc();
  socket.text(socket.got_text());
  socket.async_write(buffer.data(),
                     [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                       if (write_ec) return self->finished();
                       self->buffer.consume(self->buffer.size());
                       if (!self->closing) self->read();
                     });
}

void WebSocketSession::State::finished() {
  if (counted && echo.open != nullptr) echo.open->dec();
  counted = false;
  beast::error_code ignored;
  beast::get_lowest_layer(socket).socket().close(ignored);
  owner.reset();  // the last handler lets the session go
}

WebSocketSession::WebSocketSession(beast::tcp_stream stream, WebSocketEcho echo)
    : state_(std::make_shared<State>(std::move(stream), echo)) {}

WebSocketSession::~WebSocketSession() = default;

void WebSocketSession::start(const beast::http::request<beast::http::string_body>& request,
                             std::shared_ptr<void> owner,
                             std::function<void(bool)> handshake_done) {
  auto& state = *state_;
  state.owner = std::move(owner);
  beast::get_lowest_layer(state.socket).expires_never();  // the websocket timeouts take over
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(10);
  // Beast pings once half the idle time passed without a frame and closes the connection when
  // the other half passes too: a live client's pong keeps it open.
  timeouts.idle_timeout = state.echo.idle_timeout;
  timeouts.keep_alive_pings = true;
  state.socket.set_option(timeouts);
  state.socket.read_message_max(state.echo.max_message_bytes);
  state.socket.async_accept(
      request, [self = state_, handshake_done = std::move(handshake_done)](beast::error_code ec) {
        handshake_done(!ec);
        if (ec) return self->finished();
        if (self->echo.open != nullptr) self->echo.open->inc();
        self->counted = true;
        self->read();
      });
}

void WebSocketSession::close() {
  auto& state = *state_;
  if (state.closing || !state.counted) return;
  state.closing = true;
  state.socket.async_close(websocket::close_code::going_away,
                           [self = state_](beast::error_code) { self->finished(); });
}

}  // namespace october::http::detail
