// The listener: accepting connections onto the I/O threads and the server's life cycle. A
// connection's own work is the Session's (session.hpp).
#include "http/server.hpp"

#include <boost/asio.hpp>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "http/session.hpp"

namespace october::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using detail::Session;

struct Server::Impl : detail::Listener {
  using Listener::Listener;

  void accept();

  std::atomic<std::size_t> next_context{0};
  std::uint16_t bound_port = 0;

  // Declared after everything a session touches in its destructor: the contexts (and the
  // sessions their pending handlers own) are destroyed first.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;
};

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
