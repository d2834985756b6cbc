#include "http/session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <random>

#include "core/log.hpp"
#include "http/channel.hpp"
#include "http/trace_context.hpp"

namespace october::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  constexpr std::string_view digits = "0123456789abcdef";
  std::uint64_t bits = random();
  std::string id(16, '0');
  for (auto& c : id) {
    c = digits[bits & 0xF];
    bits >>= 4;
  }
  return id;
}

void start_trace(Request& request, std::string_view incoming) {
  TraceParent span = continue_trace(incoming);
  request.traceparent = format_traceparent(span);
  request.trace_id = std::move(span.trace_id);
}

bool has_body(int status) { return status >= 200 && status != 204 && status != 304; }

}  // namespace

void Listener::add(Session* session) {
  std::lock_guard lock(sessions_mutex);
  sessions.insert(session);
}

void Listener::remove(Session* session) {
  std::lock_guard lock(sessions_mutex);
  sessions.erase(session);
  if (sessions.empty()) all_closed.notify_all();
}

Session::Session(tcp::socket socket, Listener& server, bool over_capacity)
    : stream_(std::move(socket)), server_(server), over_capacity_(over_capacity) {}

Session::~Session() { server_.remove(this); }

boost::asio::any_io_executor Session::executor() { return stream_.get_executor(); }

void Session::start() {
  server_.add(this);
  if (over_capacity_) {
    refuse(503, "too_many_connections",
           "the server holds its maximum of " + std::to_string(server_.options.max_connections) +
               " connections; retry later");
    return;
  }
  wait_for_request();
}

void Session::close_if_idle() {
  if (waiting_idle_) stream_.cancel();
  if (streaming_) pump_stream();  // a part already queued is the one that ends it
  if (websocket_) websocket_->close();
}

void Session::upgrade(const WebSocketEcho& echo) {
  websocket_ = std::make_unique<WebSocketSession>(std::move(stream_), echo);
  // The access line and metrics count the handshake: 101, or 400 when Beast refused it.
  websocket_->start(
      parser_->release(), shared_from_this(),
      [self = shared_from_this()](bool accepted) { self->completed(accepted ? 101 : 400); });
}

void Session::after(std::chrono::steady_clock::duration delay, std::function<void()> continuation) {
  auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), delay);
  timer->async_wait([timer, continuation = std::move(continuation),
                     self = shared_from_this()](beast::error_code) { continuation(); });
}

void Session::wait_for_request() {
  if (server_.closing) return close_gracefully();
  if (buffer_.size() > 0) return read_request();  // pipelined request already buffered
  // The idle timeout covers the wait for a request's first byte; the header timeout starts then.
  waiting_idle_ = true;
  stream_.expires_after(server_.options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                            self->waiting_idle_ = false;
                            if (ec) return self->stream_.close();
                            self->buffer_.commit(bytes);
                            self->read_request();
                          });
}

void Session::read_request() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
  parser_->body_limit(server_.options.max_body_bytes);
  stream_.expires_after(server_.options.header_timeout);
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void Session::on_read(beast::error_code ec) {
  if (!ec) return handle();
  if (ec == bhttp::error::header_limit) {
    return refuse(431, "headers_too_large",
                  "request headers exceed MAX_HEADER_BYTES (" +
                      std::to_string(server_.options.max_header_bytes) + " bytes)");
  }
  if (ec == bhttp::error::body_limit) {
    return refuse(413, "body_too_large",
                  "request body exceeds MAX_BODY_BYTES (" +
                      std::to_string(server_.options.max_body_bytes) + " bytes)");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return refuse(400, "bad_request", std::string("malformed HTTP request: ") + ec.message());
  }
  // Timeout (slow or silent client), reset or end of stream: nothing useful to answer.
  stream_.close();
}

void Session::handle() {
  auto& message = parser_->get();
  request_ = Request{};
  request_.method = std::string(message.method_string());
  std::string_view target = message.target();
  auto question = target.find('?');
  request_.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request_.query = std::string(target.substr(question + 1));
  request_.body = std::move(message.body());
  request_.headers.reserve(8);
  for (const auto& field : message) {
    request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (auto it = message.find(bhttp::field::content_type); it != message.end()) {
    request_.content_type = std::string(it->value());
  }
  auto id = message.find("X-Request-ID");
  request_.request_id = id != message.end() && !id->value().empty() && id->value().size() <= 128
                            ? std::string(id->value())
                            : new_request_id();
  start_trace(request_, request_.header("traceparent"));
  keep_alive_ = message.keep_alive();
  // A handler may take long (/slow, /burn): the connection is not idle meanwhile.
  stream_.expires_never();
  started_ = std::chrono::steady_clock::now();
  server_.observer.on_start();
  Responder responder(make_channel(shared_from_this()));
  try {
    server_.handler(request_, responder);
  } catch (const std::exception& e) {
    log::error("handler failed", {{"path", request_.path}, {"error", e.what()}});
    responder.send(json_error(500, "internal_error", "the handler failed unexpectedly"));
  }
}

void Session::refuse(int status, std::string_view code, const std::string& detail) {
  request_ = Request{};
  if (parser_ && parser_->is_header_done()) {
    request_.method = std::string(parser_->get().method_string());
  }
  request_.request_id = new_request_id();
  start_trace(request_, {});
  keep_alive_ = false;
  started_ = std::chrono::steady_clock::now();
  server_.observer.on_start();
  auto response = json_error(status, code, detail);
  if (status == 503) response.headers.emplace_back("Retry-After", "1");
  respond(std::move(response));
}

void Session::completed(int status) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  server_.observer.on_complete(request_, status, seconds);
}

void Session::after_response(bool keep_alive) {
  if (!keep_alive) return close_gracefully();
  wait_for_request();
}

void Session::respond(Response response) {
  const int status = response.status;
  response_ = {};
  response_.version(11);
  response_.result(static_cast<unsigned>(status));
  if (bhttp::obsolete_reason(response_.result()) == "<unknown-status>") response_.reason("");
  if (has_body(status)) {
    response_.set(bhttp::field::content_type, response.content_type);
    response_.body() = std::move(response.body);
  }
  for (auto& [name, value] : response.headers) response_.set(name, value);
  response_.set("X-Request-ID", request_.request_id);
  response_.set("traceparent", request_.traceparent);
  response_.keep_alive(keep_alive_ && !server_.closing);
  response_.prepare_payload();
  completed(status);
  stream_.expires_after(server_.options.idle_timeout);
  bhttp::async_write(stream_, response_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->stream_.close();
                       self->after_response(self->response_.keep_alive());
                     });
}

void Session::start_stream(const Response& head) {
  streaming_ = true;
  stream_ready_ = false;
  stream_ended_ = false;
  stream_status_ = head.status;
  stream_head_ = {};
  stream_head_.version(11);
  stream_head_.result(static_cast<unsigned>(head.status));
  stream_head_.set(bhttp::field::content_type, head.content_type);
  for (const auto& [name, value] : head.headers) stream_head_.set(name, value);
  stream_head_.set("X-Request-ID", request_.request_id);
  stream_head_.set("traceparent", request_.traceparent);
  stream_head_.keep_alive(keep_alive_ && !server_.closing);
  stream_head_.chunked(true);
  serializer_.emplace(stream_head_);
  // Every write of the stream has the idle timeout to complete: a client that stops reading
  // is cut off, as for a whole response.
  stream_.expires_after(server_.options.idle_timeout);
  bhttp::async_write_header(stream_, *serializer_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->cut_stream();
                              self->stream_.expires_never();
                              self->stream_ready_ = true;
                              self->pump_stream();
                            });
}

void Session::write_chunk(std::string data, std::function<void(bool)> done) {
  if (!streaming_ || stream_ended_) {
    if (done) done(false);
    return;
  }
  parts_.push_back({std::move(data), std::move(done), false});
  pump_stream();
}

void Session::finish_stream() {
  if (!streaming_ || stream_ended_) return;
  parts_.push_back({{}, {}, true});
  pump_stream();
}

// Writes the next queued part once the previous one is out. A draining server ends the stream
// at the next part instead of writing it: the body stays well-formed, only shorter.
void Session::pump_stream() {
  if (!stream_ready_ || stream_ended_ || parts_.empty()) return;
  Part part = std::move(parts_.front());
  parts_.pop_front();
  const bool last = part.last || server_.closing;
  if (last) {
    stream_ended_ = true;
    for (auto& pending : parts_) {
      if (pending.done) pending.done(false);
    }
    parts_.clear();
    if (part.done) part.done(false);
    part.done = {};
  }
  stream_ready_ = false;
  auto on_written = [self = shared_from_this(), last, done = std::move(part.done)](
                        beast::error_code ec, std::size_t) {
    if (ec) {
      if (done) done(false);
      return self->cut_stream();
    }
    self->stream_.expires_never();
    if (last) {
      self->streaming_ = false;
      self->completed(self->stream_status_);
      return self->after_response(self->stream_head_.keep_alive() && !self->server_.closing);
    }
    self->stream_ready_ = true;
    if (done) done(true);
    self->pump_stream();
  };
  stream_.expires_after(server_.options.idle_timeout);
  if (last) {
    asio::async_write(stream_, bhttp::make_chunk_last(), std::move(on_written));
    return;
  }
  chunk_ = std::move(part.data);
  asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk_)), std::move(on_written));
}

// The client is gone or stopped reading: every part still queued fails, the connection closes.
void Session::cut_stream() {
  if (!streaming_) return;
  streaming_ = false;
  stream_ended_ = true;
  for (auto& pending : parts_) {
    if (pending.done) pending.done(false);
  }
  parts_.clear();
  completed(stream_status_);
  stream_.close();
}

// Half-close, then drain what the client still sends so the kernel does not reset the
// connection and destroy the response we just wrote (e.g. after a 413 with a body in flight).
void Session::close_gracefully() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return stream_.close();
  stream_.expires_after(std::chrono::seconds(1));
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code read_ec, std::size_t) {
                            if (read_ec) return self->stream_.close();
                            self->close_gracefully();
                          });
}

}  // namespace october::http::detail
