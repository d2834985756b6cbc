#pragma once
// A blocking Redis connection (hiredis) with timeouts and transparent reconnects, for the
// readiness probe and the task broker.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace october::redis {

// redis://[[user]:password@]host[:port][/db]
struct Url {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username;
  std::string password;

  // Throws std::invalid_argument with a sentence saying what is wrong.
  static Url parse(std::string_view text);
  // The URL with any password masked, for logs.
  [[nodiscard]] std::string redacted() const;
};

struct Reply {
  enum class Kind { nil, status, error, integer, string, array };
  Kind kind = Kind::nil;
  std::string text;  // status, error and string replies
  long long integer = 0;
  std::vector<Reply> elements;
};

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `reply`, or Error("redis error: ...") when it is a Redis error reply: for callers to whom
// any error reply is a failure, as a lost connection is.
Reply checked(Reply reply);

class Connection {
 public:
  Connection(Url url, std::chrono::milliseconds timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one command, connecting first if needed. Throws Error on a connection or I/O failure
  // (the connection is dropped and the next call reconnects); a Redis error reply is returned.
  Reply command(const std::vector<std::string>& argv);

  // Sends every command, then reads every reply: one network round trip for the lot.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  // After SUBSCRIBE or PSUBSCRIBE: the next message the server pushes, or nullopt when none came
  // within `wait`. Throws Error like command().
  std::optional<Reply> receive(std::chrono::milliseconds wait);

  // Empty when the server answered PONG, else why not.
  std::optional<std::string> ping();

  [[nodiscard]] const Url& url() const { return url_; }

 private:
  void connect();
  // A failed call leaves hiredis's context unusable: drop it (the next call reconnects) and
  // throw its error.
  [[noreturn]] void fail();

  Url url_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
};

}  // namespace october::redis
