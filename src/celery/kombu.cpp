#include "celery/kombu.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>

#include "celery/envelope.hpp"
#include "core/json_text.hpp"
#include "crypto/base64.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

constexpr std::string_view kSeparator = "\x06\x16";

}  // namespace

std::string encode_kombu_message(const json::value& body, json::object headers,
                                 std::string_view exchange, std::string_view routing_key,
                                 int delivery_mode) {
  json::object envelope{{"body", crypto::base64_encode(to_json(body))},
                        {"content-encoding", "utf-8"},
                        {"content-type", "application/json"},
                        {"headers", std::move(headers)},
                        {"properties",
                         {{"delivery_mode", delivery_mode},
                          {"delivery_info", {{"exchange", exchange}, {"routing_key", routing_key}}},
                          {"priority", 0},
                          {"body_encoding", "base64"},
                          {"delivery_tag", make_uuid4()}}}};
  return to_json(envelope);
}

KombuMessage decode_kombu_message(std::string_view raw) {
  json::error_code ec;
  json::value parsed = json::parse(json::string_view(raw.data(), raw.size()), ec);
  if (ec || !parsed.is_object()) throw MalformedMessage("the message is not a JSON object");
  auto& envelope = parsed.get_object();
  KombuMessage message;
  if (auto* headers = envelope.if_contains("headers"); headers && headers->is_object()) {
    message.headers = headers->get_object();
  }
  const json::value* body = envelope.if_contains("body");
  if (body == nullptr || !body->is_string()) throw MalformedMessage("body must be a string");
  std::string text(body->get_string());
  const json::value* encoding = nullptr;
  if (auto* properties = envelope.if_contains("properties");
      properties && properties->is_object()) {
    encoding = properties->get_object().if_contains("body_encoding");
  }
  if (encoding != nullptr && encoding->is_string() && encoding->get_string() == "base64") {
    auto decoded = crypto::base64_decode(text);
    if (!decoded) throw MalformedMessage("body is not valid base64");
    text = std::move(*decoded);
  }
  message.body = json::parse(text, ec);
  if (ec) throw MalformedMessage("body is not JSON");
  return message;
}

std::string fanout_channel(int db, std::string_view exchange, std::string_view routing_key) {
  // Appends rather than operator+ chains: GCC 12 warns falsely (-Wrestrict) on "/" + string.
  std::string channel = "/";
  channel += std::to_string(db);
  channel += '.';
  channel += exchange;
  if (!routing_key.empty()) {
    channel += '/';
    channel += routing_key;
  }
  return channel;
}

std::string exchange_binding_key(std::string_view exchange) {
  return "_kombu.binding." + std::string(exchange);
}

std::string exchange_binding_member(std::string_view routing_key, std::string_view queue) {
  return std::string(routing_key) + std::string(kSeparator) + std::string(kSeparator) +
         std::string(queue);
}

std::vector<std::string> direct_route(const std::vector<std::string>& members,
                                      std::string_view routing_key) {
  std::vector<std::string> queues;
  for (const auto& member : members) {
    const auto first = member.find(kSeparator);
    if (first == std::string::npos) continue;
    const auto second = member.find(kSeparator, first + kSeparator.size());
    if (second == std::string::npos) continue;
    if (std::string_view(member).substr(0, first) != routing_key) continue;
    queues.push_back(member.substr(second + kSeparator.size()));
  }
  return queues;
}

void LamportClock::adjust(std::int64_t other) {
  std::int64_t current = value_.load();
  while (true) {
    const std::int64_t next = std::max(current, other) + 1;
    if (value_.compare_exchange_weak(current, next)) return;
  }
}

}  // namespace october::celery
