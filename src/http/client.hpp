#pragma once
// An asynchronous outgoing HTTP/1.1 client for plain http:// URLs (service-to-service calls of
// POST /api/echo). Beast stays in client.cpp: callers see plain structs, as handlers do.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace october::http {

// http://host[:port][/path][?query]; host a name, an IPv4 address or [an IPv6 address].
struct HttpUrl {
  std::string host;  // without brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query

  // Throws std::invalid_argument saying what is wrong (https, no host, a bad port...).
  static HttpUrl parse(std::string_view text);
  // http://host[:port]/target, the port left out when it is 80.
  [[nodiscard]] std::string text() const;
};

struct ClientRequest {
  std::string method = "GET";
  HttpUrl url;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(2);  // the whole exchange
};

struct ClientResponse {
  int status = 0;  // 0 when no answer came; `error` says why
  std::string body;
  std::string content_type;
  std::string error;
};

class Client {
 public:
  // Answers past this are cut off with an error rather than held in memory.
  static constexpr std::size_t kMaxResponseBytes = std::size_t{1024} * 1024;

  // Runs its own I/O thread, so a slow peer never holds a server I/O thread.
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` on a new connection; `done` runs once, on the client's thread, with the
  // answer or the error (resolve, connect, write, read, timeout). Callable from any thread.
  void send(ClientRequest request, std::function<void(ClientResponse)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace october::http
