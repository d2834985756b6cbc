#include "celery/pidbox.hpp"

#include <fnmatch.h>

#include <boost/json/array.hpp>
#include <regex>
#include <utility>

#include "celery/envelope.hpp"
#include "core/parse.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

std::string string_or_empty(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

}  // namespace

ControlRequest decode_control(std::string_view raw) {
  KombuMessage message = decode_kombu_message(raw);
  if (!message.body.is_object()) throw MalformedMessage("a control message body is an object");
  const json::object& body = message.body.get_object();
  ControlRequest request;
  request.method = string_or_empty(body, "method");
  if (request.method.empty()) throw MalformedMessage("a control message names its method");
  if (const auto* arguments = body.if_contains("arguments"); arguments && arguments->is_object()) {
    request.arguments = arguments->get_object();
  }
  if (const auto* destination = body.if_contains("destination");
      destination && destination->is_array()) {
    for (const auto& node : destination->get_array()) {
      if (node.is_string()) request.destination.emplace_back(node.get_string());
    }
  }
  request.pattern = string_or_empty(body, "pattern");
  request.matcher = string_or_empty(body, "matcher");
  request.ticket = string_or_empty(body, "ticket");
  if (const auto* reply_to = body.if_contains("reply_to"); reply_to && reply_to->is_object()) {
    request.reply_exchange = string_or_empty(reply_to->get_object(), "exchange");
    request.reply_routing_key = string_or_empty(reply_to->get_object(), "routing_key");
  }
  if (const auto* clock = message.headers.if_contains("clock"); clock && clock->is_int64()) {
    request.clock = clock->get_int64();
  }
  return request;
}

bool addressed_to(const ControlRequest& request, std::string_view hostname) {
  if (!request.destination.empty()) {
    for (const auto& node : request.destination) {
      if (node == hostname) return true;
    }
    return false;
  }
  if (!request.pattern.empty() && !request.matcher.empty()) {
    const std::string name(hostname);
    if (request.matcher == "glob") {
      return fnmatch(request.pattern.c_str(), name.c_str(), 0) == 0;
    }
    if (request.matcher == "pcre") {
      // Python's re.match: anchored at the start only.
      try {
        return std::regex_search(name, std::regex(request.pattern),
                                 std::regex_constants::match_continuous);
      } catch (const std::regex_error&) {
        return false;
      }
    }
    return false;  // a matcher kombu would refuse (MatcherNotInstalled)
  }
  return true;
}

std::string encode_reply(std::string_view hostname, const json::value& reply,
                         const ControlRequest& request, std::int64_t clock) {
  json::object body;
  body[hostname] = reply;
  return encode_kombu_message(body, {{"ticket", request.ticket}, {"clock", clock}},
                              request.reply_exchange, request.reply_routing_key, 1);
}

std::string encode_control(const ControlRequest& request, double expires_unix) {
  json::object body{{"method", request.method}, {"arguments", request.arguments},
                    {"destination", nullptr},   {"pattern", nullptr},
                    {"matcher", nullptr},       {"ticket", request.ticket}};
  if (!request.reply_exchange.empty()) {
    body["reply_to"] = {{"exchange", request.reply_exchange},
                        {"routing_key", request.reply_routing_key}};
  }
  return encode_kombu_message(body, {{"clock", request.clock}, {"expires", expires_unix}},
                              kPidboxExchange, "", 2);
}

std::string reply_queue(std::string_view oid) {
  return std::string(oid) + "." + std::string(kReplyExchange);
}

std::string pidbox_queue(std::string_view hostname) {
  return std::string(hostname) + "." + std::string(kPidboxExchange);
}

Mailbox::Mailbox(const redis::Url& broker, std::string hostname, std::chrono::milliseconds timeout)
    : subscriber_(broker, timeout),
      publisher_(broker, timeout),
      hostname_(std::move(hostname)),
      channel_(fanout_channel(broker.db, kPidboxExchange)) {}

void Mailbox::listen() {
  publisher_.command({"SADD", exchange_binding_key(kPidboxExchange),
                      exchange_binding_member("", pidbox_queue(hostname_))});
  auto reply = subscriber_.command({"PSUBSCRIBE", channel_});
  if (reply.kind == redis::Reply::Kind::error) throw redis::Error("PSUBSCRIBE: " + reply.text);
}

std::optional<std::string> Mailbox::receive(std::chrono::milliseconds wait) {
  auto pushed = subscriber_.receive(wait);
  if (!pushed) return std::nullopt;
  // ["pmessage", pattern, channel, data]; subscription confirmations are skipped.
  const auto& parts = pushed->elements;
  if (parts.size() == 4 && parts[0].text == "pmessage") return parts[3].text;
  return std::nullopt;
}

void Mailbox::reply(const ControlRequest& request, const json::value& reply, std::int64_t clock) {
  if (request.reply_exchange.empty()) return;
  auto members = publisher_.command({"SMEMBERS", exchange_binding_key(request.reply_exchange)});
  std::vector<std::string> texts;
  for (const auto& member : members.elements) texts.push_back(member.text);
  const std::string message = encode_reply(hostname_, reply, request, clock);
  // No binding: the client stopped waiting and deleted its queue, as kombu's InconsistencyError.
  for (const auto& queue : direct_route(texts, request.reply_routing_key)) {
    publisher_.command({"LPUSH", queue, message});
  }
}

std::vector<json::object> Mailbox::broadcast(std::string_view method, json::object arguments,
                                             std::int64_t clock, std::chrono::milliseconds wait) {
  ControlRequest request;
  request.method = std::string(method);
  request.arguments = std::move(arguments);
  request.ticket = make_uuid4();
  request.reply_exchange = std::string(kReplyExchange);
  request.reply_routing_key = make_uuid4();  // the client's oid
  request.clock = clock;
  const std::string queue = reply_queue(request.reply_routing_key);
  const std::string binding = exchange_binding_member(request.reply_routing_key, queue);
  redis::checked(publisher_.command({"SADD", exchange_binding_key(kReplyExchange), binding}));
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  const double now = std::chrono::duration<double>(wall).count();
  const double wait_seconds = std::chrono::duration<double>(wait).count();
  redis::checked(
      publisher_.command({"PUBLISH", channel_, encode_control(request, now + wait_seconds)}));
  std::vector<json::object> replies;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    // BRPOP's timeout is in seconds; fractions are accepted since Redis 6.
    auto popped = redis::checked(publisher_.command(
        {"BRPOP", queue, format_double(static_cast<double>(left.count()) / 1000.0)}));
    if (popped.kind != redis::Reply::Kind::array || popped.elements.size() != 2) break;
    try {
      KombuMessage message = decode_kombu_message(popped.elements[1].text);
      const auto* ticket = message.headers.if_contains("ticket");
      if (message.body.is_object() && ticket != nullptr && ticket->is_string() &&
          ticket->get_string() == request.ticket) {
        replies.push_back(message.body.get_object());
      }
    } catch (const MalformedMessage&) {
      // Not a reply of ours; the queue is our own, so nothing else is lost.
    }
  }
  publisher_.command({"SREM", exchange_binding_key(kReplyExchange), binding});
  publisher_.command({"DEL", queue});
  return replies;
}

void Mailbox::close() {
  publisher_.command({"SREM", exchange_binding_key(kPidboxExchange),
                      exchange_binding_member("", pidbox_queue(hostname_))});
}

}  // namespace october::celery
