#include "http/client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <thread>

namespace october::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

HttpUrl HttpUrl::parse(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    throw std::invalid_argument("'" + std::string(text) + "' does not start with http://");
  }
  std::string_view rest = text.substr(kScheme.size());
  auto path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  HttpUrl url;
  if (path_at != std::string_view::npos) {
    url.target = std::string(rest.substr(path_at));
    if (url.target.front() == '?') url.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("'" + std::string(text) + "': credentials are not supported");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("'" + std::string(text) + "': unclosed [ in the host");
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      throw std::invalid_argument("'" + std::string(text) + "': junk after the host");
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) throw std::invalid_argument("'" + std::string(text) + "' has no host");
  for (char c : url.host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
                    c == '_' || c == ':';
    if (!ok) throw std::invalid_argument("'" + std::string(text) + "': bad host character");
  }
  if (authority.find(':') != std::string_view::npos || !port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      throw std::invalid_argument("'" + std::string(text) + "': the port must be 1..65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      throw std::invalid_argument("'" + std::string(text) + "': spaces or controls in the path");
    }
  }
  return url;
}

std::string HttpUrl::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) +
         (port == 80 ? std::string() : ":" + std::to_string(port)) + target;
}

namespace {

// One request on its own connection; a timer bounds the whole exchange (a resolver has no
// deadline of its own). Everything runs on the client's single thread.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, ClientRequest request, std::function<void(ClientResponse)> done)
      : resolver_(io),
        stream_(io),
        timer_(io),
        request_(std::move(request)),
        done_(std::move(done)) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(request_.timeout);
    timer_.async_wait([self](beast::error_code ec) {
      if (ec) return;  // cancelled: the exchange ended first
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->stream_.socket().close(ec);
    });
    resolver_.async_resolve(request_.url.host, std::to_string(request_.url.port),
                            [self](beast::error_code ec, const tcp::resolver::results_type& to) {
                              self->on_resolve(ec, to);
                            });
  }

 private:
  void on_resolve(beast::error_code ec, const tcp::resolver::results_type& endpoints) {
    if (ec) return fail("resolve", ec);
    auto self = shared_from_this();
    stream_.async_connect(endpoints, [self](beast::error_code error, const tcp::endpoint&) {
      self->on_connect(error);
    });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail("connect", ec);
    outgoing_.method_string(request_.method);
    outgoing_.target(request_.url.target);
    outgoing_.version(11);
    const auto& url = request_.url;
    const bool v6 = url.host.find(':') != std::string::npos;
    outgoing_.set(beast::http::field::host,
                  (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port));
    outgoing_.set(beast::http::field::user_agent, "october-api");
    outgoing_.set(beast::http::field::connection, "close");
    if (!request_.content_type.empty()) {
      outgoing_.set(beast::http::field::content_type, request_.content_type);
    }
    for (const auto& [name, value] : request_.headers) outgoing_.set(name, value);
    outgoing_.body() = std::move(request_.body);
    outgoing_.prepare_payload();
    auto self = shared_from_this();
    beast::http::async_write(stream_, outgoing_, [self](beast::error_code error, std::size_t) {
      self->on_write(error);
    });
  }

  void on_write(beast::error_code ec) {
    if (ec) return fail("write", ec);
    parser_.emplace();
    parser_->body_limit(Client::kMaxResponseBytes);
    auto self = shared_from_this();
    beast::http::async_read(stream_, buffer_, *parser_,
                            [self](beast::error_code error, std::size_t) { self->on_read(error); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return fail("read", ec);
    auto message = parser_->release();
    ClientResponse response;
    response.status = static_cast<int>(message.result_int());
    response.content_type = std::string(message[beast::http::field::content_type]);
    response.body = std::move(message.body());
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    finish(std::move(response));
  }

  void fail(std::string_view step, beast::error_code ec) {
    ClientResponse response;
    if (timed_out_) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(request_.timeout);
      response.error =
          "timed out after " + std::to_string(ms.count()) + " ms (" + std::string(step) + ")";
    } else {
      response.error = std::string(step) + ": " + ec.message();
    }
    finish(std::move(response));
  }

  void finish(ClientResponse response) {
    timer_.cancel();
    if (auto done = std::exchange(done_, nullptr)) done(std::move(response));
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  ClientRequest request_;
  std::function<void(ClientResponse)> done_;
  beast::http::request<beast::http::string_body> outgoing_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::response_parser<beast::http::string_body>> parser_;
  bool timed_out_ = false;
};

}  // namespace

struct Client::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
};

Client::Client() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

Client::~Client() {
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

void Client::send(ClientRequest request, std::function<void(ClientResponse)> done) {
  asio::post(impl_->io, [this, request = std::move(request), done = std::move(done)]() mutable {
    std::make_shared<Exchange>(impl_->io, std::move(request), std::move(done))->start();
  });
}

}  // namespace october::http
