// Over 350 lines on purpose: this is the one translation unit that includes Beast and Asio (they
// are header-only and slow to compile), and the listener, the per-connection session and its
// response channel share private types that would otherwise have to move into a header.
#include "http/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "core/log.hpp"
#include "http/trace_context.hpp"

namespace october::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session;

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

struct Server::Impl {
  Impl(ServerOptions opts, Handler h, RequestObserver& obs)
      : options(std::move(opts)), handler(std::move(h)), observer(obs) {}

  void accept();
  void add(Session* session) {
    std::lock_guard lock(sessions_mutex);
    sessions.insert(session);
  }
  void remove(Session* session) {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(session);
    if (sessions.empty()) all_closed.notify_all();
  }

  ServerOptions options;
  Handler handler;
  RequestObserver& observer;
  std::atomic<bool> closing{false};
  std::atomic<std::size_t> next_context{0};
  std::uint16_t bound_port = 0;

  mutable std::mutex sessions_mutex;
  std::condition_variable all_closed;
  std::unordered_set<Session*> sessions;

  // Declared after everything a session touches in its destructor: the contexts (and the
  // sessions their pending handlers own) are destroyed first.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server, bool over_capacity)
      : stream_(std::move(socket)), server_(server), over_capacity_(over_capacity) {}

  ~Session() { server_.remove(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    server_.add(this);
    if (over_capacity_) {
      refuse(503, "too_many_connections",
             "the server holds its maximum of " + std::to_string(server_.options.max_connections) +
                 " connections; retry later");
      return;
    }
    wait_for_request();
  }

  // Runs on the session's I/O thread.
  void close_if_idle() {
    if (waiting_idle_) stream_.cancel();
  }

  void respond(Response response);

  void after(std::chrono::steady_clock::duration delay, std::function<void()> continuation) {
    auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), delay);
    timer->async_wait([timer, continuation = std::move(continuation),
                       self = shared_from_this()](beast::error_code) { continuation(); });
  }

  [[nodiscard]] auto executor() { return stream_.get_executor(); }

 private:
  void wait_for_request();
  void read_request();
  void on_read(beast::error_code ec);
  void handle();
  void refuse(int status, std::string_view code, const std::string& detail);
  void close_gracefully();

  beast::tcp_stream stream_;
  Server::Impl& server_;
  bool over_capacity_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  Request request_;
  bool keep_alive_ = false;
  bool waiting_idle_ = false;
  std::chrono::steady_clock::time_point started_;
  std::array<char, 512> discard_{};
};

class Channel final : public Responder::Channel {
 public:
  explicit Channel(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  void send(Response response) override {
    if (sent_.exchange(true)) return;  // a second answer to one request is a bug; drop it
    auto session = session_;
    asio::dispatch(session->executor(), [session, response = std::move(response)]() mutable {
      session->respond(std::move(response));
    });
  }

  void after(std::chrono::steady_clock::duration delay,
             std::function<void()> continuation) override {
    auto session = session_;
    asio::dispatch(session->executor(),
                   [session, delay, continuation = std::move(continuation)]() mutable {
                     session->after(delay, std::move(continuation));
                   });
  }

 private:
  std::shared_ptr<Session> session_;
  std::atomic<bool> sent_{false};
};

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
  Responder responder(std::make_shared<Channel>(shared_from_this()));
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
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  server_.observer.on_complete(request_, status, seconds);
  stream_.expires_after(server_.options.idle_timeout);
  bhttp::async_write(stream_, response_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->stream_.close();
                       if (!self->response_.keep_alive()) return self->close_gracefully();
                       self->wait_for_request();
                     });
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

}  // namespace

void Server::Impl::accept() {
  auto& context = *contexts[next_context++ % contexts.size()];
  acceptor->async_accept(context, [this, &context](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // Out of descriptors and similar: back off briefly instead of spinning.
      log::warn("accept failed", {{"error", ec.message()}});
      auto timer = std::make_shared<asio::steady_timer>(acceptor->get_executor(),
                                                        std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) {
        if (acceptor->is_open()) accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    bool over_capacity;
    {
      std::lock_guard lock(sessions_mutex);
      over_capacity = sessions.size() >= options.max_connections;
    }
    asio::post(context, [this, socket = std::move(socket), over_capacity]() mutable {
      std::make_shared<Session>(std::move(socket), *this, over_capacity)->start();
    });
    accept();
  });
}

Server::Server(ServerOptions options, Handler handler, RequestObserver& observer)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler), observer)) {}

Server::~Server() { stop(); }

void Server::start() {
  auto& impl = *impl_;
  std::size_t count = std::max<std::size_t>(1, impl.options.io_threads);
  for (std::size_t i = 0; i < count; ++i) {
    impl.contexts.push_back(std::make_unique<asio::io_context>(1));
    impl.work.emplace_back(impl.contexts.back()->get_executor());
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(impl.options.host, ec);
  if (ec) throw std::runtime_error("HOST: '" + impl.options.host + "' is not an IP address");
  tcp::endpoint endpoint(address, impl.options.port);
  impl.acceptor.emplace(*impl.contexts.front());
  auto check = [&](std::string_view what) {
    if (ec) {
      throw std::runtime_error("cannot " + std::string(what) + " " + impl.options.host + ":" +
                               std::to_string(impl.options.port) + ": " + ec.message());
    }
  };
  impl.acceptor->open(endpoint.protocol(), ec);
  check("open");
  impl.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  impl.acceptor->bind(endpoint, ec);
  check("bind");
  impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  check("listen on");
  impl.bound_port = impl.acceptor->local_endpoint().port();
  impl.accept();
  for (auto& context : impl.contexts) {
    impl.threads.emplace_back([ctx = context.get()] { ctx->run(); });
  }
}

void Server::stop_accepting() {
  // A raw pointer: a handler left queued in a stopped context must not keep Impl alive.
  Impl* impl = impl_.get();
  if (!impl->acceptor) return;
  asio::post(*impl->contexts.front(), [impl] {
    beast::error_code ignored;
    impl->acceptor->close(ignored);
  });
}

void Server::close_connections() {
  impl_->closing = true;
  // Collect under the lock, post outside it: the last reference to a session may be dropped
  // here, and its destructor takes the same lock.
  std::vector<std::shared_ptr<Session>> alive;
  {
    std::lock_guard lock(impl_->sessions_mutex);
    for (Session* session : impl_->sessions) {
      if (auto ref = session->weak_from_this().lock()) alive.push_back(std::move(ref));
    }
  }
  for (auto& session : alive) {
    asio::post(session->executor(), [session] { session->close_if_idle(); });
  }
}

bool Server::wait_until_closed(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(impl_->sessions_mutex);
  return impl_->all_closed.wait_until(lock, deadline, [&] { return impl_->sessions.empty(); });
}

void Server::stop() {
  auto& impl = *impl_;
  impl.work.clear();
  for (auto& context : impl.contexts) context->stop();
  for (auto& thread : impl.threads) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t Server::open_connections() const {
  std::lock_guard lock(impl_->sessions_mutex);
  return impl_->sessions.size();
}

std::uint16_t Server::port() const { return impl_->bound_port; }

}  // namespace october::http
