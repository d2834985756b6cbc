#include "redis/client.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <cerrno>

#include "core/parse.hpp"

namespace october::redis {

Url Url::parse(std::string_view text) {
  constexpr std::string_view scheme = "redis://";
  if (text.substr(0, scheme.size()) != scheme) {
    throw std::invalid_argument("'" + std::string(text) +
                                "' must look like redis://[:password@]host[:port][/db]");
  }
  Url url;
  std::string_view rest = text.substr(scheme.size());
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) {
      url.username = auth.substr(0, colon);
      url.password = auth.substr(colon + 1);
    } else {
      url.password = auth;
    }
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto value = parse_int(db);
      if (!value || *value < 0 || *value > 15) {
        throw std::invalid_argument("database '" + std::string(db) +
                                    "' must be an integer between 0 and 15");
      }
      url.db = static_cast<int>(*value);
    }
  }
  std::string_view host = hostport;
  if (!hostport.empty() && hostport.front() == '[') {  // [::1]:6379
    auto close = hostport.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed '[' in host");
    host = hostport.substr(1, close - 1);
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport.front() != ':') {
      throw std::invalid_argument("unexpected text after ']' in host");
    }
    if (!hostport.empty()) {
      auto port = parse_int(hostport.substr(1));
      if (!port || *port < 1 || *port > 65535) {
        throw std::invalid_argument("port must be an integer between 1 and 65535");
      }
      url.port = static_cast<int>(*port);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    auto port = parse_int(hostport.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) {
      throw std::invalid_argument("port '" + std::string(hostport.substr(colon + 1)) +
                                  "' must be an integer between 1 and 65535");
    }
    url.port = static_cast<int>(*port);
  }
  if (host.empty()) throw std::invalid_argument("'" + std::string(text) + "' names no host");
  url.host = host;
  return url;
}

std::string Url::redacted() const {
  std::string out = "redis://";
  if (!password.empty()) out += username + ":****@";
  const bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  out += ':';
  out += std::to_string(port);
  out += '/';
  out += std::to_string(db);
  return out;
}

namespace {

Reply convert(const redisReply* reply) {
  Reply out;
  switch (reply->type) {
    case REDIS_REPLY_STATUS:
      out.kind = Reply::Kind::status;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = Reply::Kind::error;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = Reply::Kind::integer;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      out.kind = Reply::Kind::string;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = Reply::Kind::array;
      for (std::size_t i = 0; i < reply->elements; ++i) {
        out.elements.push_back(convert(reply->element[i]));
      }
      break;
    default:
      out.kind = Reply::Kind::nil;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

Connection::Connection(Url url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {}

Connection::~Connection() {
  if (context_ != nullptr) redisFree(context_);
}

void Connection::connect() {
  timeval tv = to_timeval(timeout_);
  redisContext* context = redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
  if (context == nullptr) throw Error("cannot allocate a Redis context");
  if (context->err != 0) {
    std::string why = context->errstr;
    redisFree(context);
    throw Error("cannot connect to " + url_.redacted() + ": " + why);
  }
  redisSetTimeout(context, tv);
  context_ = context;
  auto check = [&](const std::vector<std::string>& argv) {
    Reply reply = command(argv);
    if (reply.kind == Reply::Kind::error) {
      redisFree(context_);
      context_ = nullptr;
      throw Error(url_.redacted() + ": " + reply.text);
    }
  };
  if (!url_.password.empty()) {
    if (url_.username.empty()) {
      check({"AUTH", url_.password});
    } else {
      check({"AUTH", url_.username, url_.password});
    }
  }
  if (url_.db != 0) check({"SELECT", std::to_string(url_.db)});
}

void Connection::fail() {
  std::string why = context_->errstr;
  redisFree(context_);
  context_ = nullptr;
  throw Error(url_.redacted() + ": " + why);
}

Reply checked(Reply reply) {
  if (reply.kind == Reply::Kind::error) throw Error("redis error: " + reply.text);
  return reply;
}

Reply Connection::command(const std::vector<std::string>& argv) {
  if (context_ == nullptr) connect();
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (reply == nullptr) fail();
  Reply out = convert(reply);
  freeReplyObject(reply);
  return out;
}

std::vector<Reply> Connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (context_ == nullptr) connect();
  for (const auto& argv : commands) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& arg : argv) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), args.data(),
                               lengths.data()) != REDIS_OK) {
      fail();
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) fail();
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(convert(reply));
    freeReplyObject(reply);
  }
  return replies;
}

std::optional<Reply> Connection::receive(std::chrono::milliseconds wait) {
  if (context_ == nullptr) connect();
  void* raw = nullptr;
  // A message already read into hiredis's buffer would never wake poll().
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) fail();
  if (raw == nullptr) {
    // hiredis cannot resume after a socket timeout, so the wait is a poll() on its descriptor.
    pollfd readable{context_->fd, POLLIN, 0};
    int ready = poll(&readable, 1, static_cast<int>(wait.count()));
    if (ready == 0 || (ready < 0 && errno == EINTR)) return std::nullopt;
    if (ready < 0) throw Error(url_.redacted() + ": poll failed");
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) fail();
  }
  auto* reply = static_cast<redisReply*>(raw);
  Reply out = convert(reply);
  freeReplyObject(reply);
  return out;
}

std::optional<std::string> Connection::ping() {
  try {
    Reply reply = command({"PING"});
    if (reply.kind == Reply::Kind::status && reply.text == "PONG") return std::nullopt;
    return "unexpected PING reply: " + reply.text;
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace october::redis
