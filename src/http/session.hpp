#pragma once
// One client connection of the Server (server.hpp): reads requests, hands them to the handler,
// writes the answers in order (keep-alive, pipelining), whole or as a chunked stream. Private to
// src/http: it is the one header besides server.cpp's own code that names Beast.
#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "http/server.hpp"
#include "http/types.hpp"
#include "http/websocket.hpp"

namespace october::http::detail {

class Session;

// What every session of one server shares: set before the first accept, read by all I/O threads.
struct Listener {
  Listener(ServerOptions opts, Handler h, RequestObserver& obs)
      : options(std::move(opts)), handler(std::move(h)), observer(obs) {}

  void add(Session* session);
  void remove(Session* session);

  ServerOptions options;
  Handler handler;
  RequestObserver& observer;
  std::atomic<bool> closing{false};

  mutable std::mutex sessions_mutex;
  std::condition_variable all_closed;
  std::unordered_set<Session*> sessions;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using tcp = boost::asio::ip::tcp;
  Session(tcp::socket socket, Listener& server, bool over_capacity);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Run on the session's I/O thread. An idle keep-alive connection closes now; a stream ends at
  // its next chunk.
  void close_if_idle();
  void respond(Response response);
  void after(std::chrono::steady_clock::duration delay, std::function<void()> continuation);
  void start_stream(const Response& head);
  void write_chunk(std::string data, std::function<void(bool)> done);
  void finish_stream();
  void upgrade(const WebSocketEcho& echo);

  [[nodiscard]] boost::asio::any_io_executor executor();

 private:
  struct Part {
    std::string data;
    std::function<void(bool)> done;
    bool last = false;
  };

  void wait_for_request();
  void read_request();
  void on_read(boost::beast::error_code ec);
  void handle();
  void refuse(int status, std::string_view code, const std::string& detail);
  void completed(int status);
  void after_response(bool keep_alive);
  void close_gracefully();
  void pump_stream();
  void cut_stream();

  boost::beast::tcp_stream stream_;
  Listener& server_;
  bool over_capacity_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  Request request_;
  bool keep_alive_ = false;
  bool waiting_idle_ = false;
  std::chrono::steady_clock::time_point started_;
  std::array<char, 512> discard_{};

  // The stream being written: its head, the parts the handler queued, and where it stands.
  boost::beast::http::response<boost::beast::http::empty_body> stream_head_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::empty_body>>
      serializer_;
  std::deque<Part> parts_;
  std::string chunk_;  // the part being written: Beast's chunk refers to it
  bool streaming_ = false;
  bool stream_ready_ = false;  // head written, no part in flight
  bool stream_ended_ = false;
  int stream_status_ = 200;

  std::unique_ptr<WebSocketSession> websocket_;  // once upgraded, it owns the connection
};

}  // namespace october::http::detail
