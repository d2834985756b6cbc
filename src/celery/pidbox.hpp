#pragma once
// Celery's broadcast mailbox (kombu.pidbox) on Redis: a command is PUBLISHed on the fanout
// channel "/<db>.celery.pidbox" as {"method", "arguments", "destination", "pattern", "matcher",
// "ticket", "reply_to": {"exchange", "routing_key"}}; each addressed worker answers
// {"<hostname>": <reply>} on the direct exchange "reply.celery.pidbox", which on Redis is an
// LPUSH onto every queue its binding set routes the routing key to.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "celery/kombu.hpp"
#include "redis/client.hpp"

namespace october::celery {

inline constexpr std::string_view kPidboxExchange = "celery.pidbox";

struct ControlRequest {
  std::string method;
  boost::json::object arguments;
  std::vector<std::string> destination;  // empty: every worker
  std::string pattern;
  std::string matcher;
  std::string ticket;
  std::string reply_exchange;  // empty: nobody waits for a reply
  std::string reply_routing_key;
  std::int64_t clock = 0;
};

// Throws MalformedMessage.
ControlRequest decode_control(std::string_view raw);
// kombu's Node.handle_message: the listed nodes, else the nodes a pattern matches (matcher
// "glob", the default, or "pcre"), else everybody.
bool addressed_to(const ControlRequest& request, std::string_view hostname);
// The reply message: {"<hostname>": reply}, headers {"ticket", "clock"}.
std::string encode_reply(std::string_view hostname, const boost::json::value& reply,
                         const ControlRequest& request, std::int64_t clock);
// A broadcast command as Celery's control client sends it: body {"method", "arguments",
// "destination": null, "pattern": null, "matcher": null, "ticket", "reply_to"}, headers
// {"clock", "expires"}, on the fanout exchange celery.pidbox.
std::string encode_control(const ControlRequest& request, double expires_unix);
// The reply queue a waiting client declares, "<oid>.reply.celery.pidbox".
std::string reply_queue(std::string_view oid);
inline constexpr std::string_view kReplyExchange = "reply.celery.pidbox";

// The queue kombu declares for a worker's mailbox, "<hostname>.celery.pidbox".
std::string pidbox_queue(std::string_view hostname);

// One worker's end of the mailbox: its own two connections (a subscribed connection can send
// nothing else). Used by one thread.
class Mailbox {
 public:
  Mailbox(const redis::Url& broker, std::string hostname, std::chrono::milliseconds timeout);

  // Declares the node as Celery does (binding set) and subscribes to the broadcast channel.
  void listen();
  // The next command's raw message, or nullopt when none came within `wait`.
  std::optional<std::string> receive(std::chrono::milliseconds wait);
  // Sends `reply` to whoever waits on the request's reply queue; nothing if none does.
  void reply(const ControlRequest& request, const boost::json::value& reply, std::int64_t clock);
  // Sends a command to every worker and gathers the reply bodies ({"<node>": reply}) that come
  // within `wait`, as Celery's control client does (its own reply queue, removed afterwards).
  std::vector<boost::json::object> broadcast(std::string_view method, boost::json::object arguments,
                                             std::int64_t clock, std::chrono::milliseconds wait);
  // Removes the node's binding (what Celery does at shutdown).
  void close();

 private:
  redis::Connection subscriber_;
  redis::Connection publisher_;
  std::string hostname_;
  std::string channel_;
};

}  // namespace october::celery
