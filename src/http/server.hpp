#pragma once
// HTTP/1.1 server (Boost.Beast) with keep-alive, pipelining, size limits, header-read and idle
// timeouts and a connection cap. Beast stays inside server.cpp: it is slow to compile.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/types.hpp"

namespace october::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8000;
  std::size_t io_threads = 1;
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 1048576;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
};

// Told about every request the server answers, including its own 4xx for bad requests.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_start() = 0;
  virtual void on_complete(const Request& request, int status, double seconds) = 0;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler, RequestObserver& observer);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the I/O threads. Throws std::runtime_error when it cannot bind.
  void start();
  // Closes the listening socket; open connections keep being served.
  void stop_accepting();
  // Keep-alive connections close after their current response; idle ones close now.
  void close_connections();
  // True once every connection has closed, false if the deadline passed first.
  bool wait_until_closed(std::chrono::steady_clock::time_point deadline);
  // Stops the I/O threads and joins them.
  void stop();

  [[nodiscard]] std::size_t open_connections() const;
  [[nodiscard]] std::uint16_t port() const;

  struct Impl;  // opaque: defined in server.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace october::http
