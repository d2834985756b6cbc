#include "celery/envelope.hpp"

#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <random>

#include "core/host_name.hpp"
#include "core/json_text.hpp"
#include "crypto/base64.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

json::value optional_string(const std::optional<std::string>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::value optional_number(const std::optional<double>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

std::string origin() { return std::to_string(getpid()) + "@" + host_name(); }

const json::object& object_field(const json::object& parent, std::string_view name,
                                 std::string_view where) {
  auto it = parent.find(name);
  if (it == parent.end() || !it->value().is_object()) {
    throw MalformedMessage(std::string(where) + "." + std::string(name) + " must be an object");
  }
  return it->value().get_object();
}

std::string string_field(const json::object& parent, std::string_view name, std::string_view where,
                         bool required = true) {
  auto it = parent.find(name);
  if (it == parent.end() || it->value().is_null()) {
    if (required) {
      throw MalformedMessage(std::string(where) + "." + std::string(name) + " is missing");
    }
    return {};
  }
  if (!it->value().is_string()) {
    throw MalformedMessage(std::string(where) + "." + std::string(name) + " must be a string");
  }
  return std::string(it->value().get_string());
}

std::optional<std::string> optional_string_field(const json::object& parent,
                                                 std::string_view name) {
  auto it = parent.find(name);
  if (it == parent.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}

std::optional<double> number_of(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  if (value.is_double()) return value.get_double();
  return std::nullopt;
}

}  // namespace

std::string make_uuid4() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t bits = random();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<std::uint8_t>(bits >> (8 * j));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 0xF];
  }
  return out;
}

std::string python_repr(const json::value& value, bool as_tuple) {
  switch (value.kind()) {
    case json::kind::null:
      return "None";
    case json::kind::bool_:
      return value.get_bool() ? "True" : "False";
    case json::kind::string: {
      std::string out = "'";
      for (char c : value.get_string()) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
      }
      return out + "'";
    }
    case json::kind::array: {
      const auto& items = value.get_array();
      std::string out = as_tuple ? "(" : "[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ", ";
        out += python_repr(items[i]);
      }
      if (as_tuple && items.size() == 1) out += ',';
      return out + (as_tuple ? ")" : "]");
    }
    case json::kind::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : value.get_object()) {
        if (!first) out += ", ";
        first = false;
        out += python_repr(json::value(key)) + ": " + python_repr(item);
      }
      return out + "}";
    }
    case json::kind::double_: {
      std::string text = to_json(value);
      return text;
    }
    default:
      return to_json(value);
  }
}

std::string encode_envelope(TaskMessage& message) {
  if (message.id.empty()) message.id = make_uuid4();
  if (message.root_id.empty()) message.root_id = message.id;
  if (message.delivery_tag.empty()) message.delivery_tag = make_uuid4();
  if (message.reply_to.empty()) message.reply_to = make_uuid4();
  if (message.origin.empty()) message.origin = origin();
  json::array body{message.args, message.kwargs, message.embed};
  json::object headers{{"lang", "py"},
                       {"task", message.task},
                       {"id", message.id},
                       {"shadow", nullptr},
                       {"eta", optional_string(message.eta)},
                       {"expires", optional_string(message.expires)},
                       {"group", optional_string(message.group)},
                       {"group_index", message.group_index ? json::value(*message.group_index)
                                                           : json::value(nullptr)},
                       {"retries", message.retries},
                       {"timelimit", json::array{optional_number(message.hard_time_limit),
                                                 optional_number(message.soft_time_limit)}},
                       {"root_id", message.root_id},
                       {"parent_id", optional_string(message.parent_id)},
                       {"argsrepr", python_repr(message.args, true)},
                       {"kwargsrepr", python_repr(message.kwargs)},
                       {"origin", message.origin},
                       {"ignore_result", message.ignore_result}};
  if (message.redelivered) headers["redelivered"] = true;
  if (message.traceparent) headers["traceparent"] = *message.traceparent;
  json::object delivery_info{{"exchange", message.exchange}, {"routing_key", message.routing_key}};
  if (message.redelivered) delivery_info["redelivered"] = true;
  json::object envelope{{"body", crypto::base64_encode(to_json(body))},
                        {"content-encoding", "utf-8"},
                        {"content-type", "application/json"},
                        {"headers", headers},
                        {"properties",
                         {{"correlation_id", message.id},
                          {"reply_to", message.reply_to},
                          {"delivery_mode", 2},
                          {"delivery_info", delivery_info},
                          {"priority", message.priority},
                          {"body_encoding", "base64"},
                          {"delivery_tag", message.delivery_tag}}}};
  return to_json(envelope);
}

TaskMessage decode_envelope(std::string_view raw) {
  json::error_code ec;
  json::value parsed = json::parse(json::string_view(raw.data(), raw.size()), ec);
  if (ec || !parsed.is_object()) throw MalformedMessage("the message is not a JSON object");
  const auto& envelope = parsed.get_object();
  const auto& headers = object_field(envelope, "headers", "message");
  const auto& properties = object_field(envelope, "properties", "message");
  std::string content_type = string_field(envelope, "content-type", "message", false);
  if (!content_type.empty() && content_type != "application/json") {
    throw MalformedMessage("content-type '" + content_type + "' is not application/json");
  }
  TaskMessage message;
  message.task = string_field(headers, "task", "headers");
  if (message.task.empty()) throw MalformedMessage("headers.task is empty");
  message.id = string_field(headers, "id", "headers");
  message.root_id = string_field(headers, "root_id", "headers", false);
  message.parent_id = optional_string_field(headers, "parent_id");
  message.group = optional_string_field(headers, "group");
  if (auto it = headers.find("group_index"); it != headers.end() && it->value().is_int64()) {
    message.group_index = it->value().get_int64();
  }
  message.origin = string_field(headers, "origin", "headers", false);
  message.traceparent = optional_string_field(headers, "traceparent");
  message.eta = optional_string_field(headers, "eta");
  message.expires = optional_string_field(headers, "expires");
  if (auto it = headers.find("retries"); it != headers.end() && it->value().is_int64()) {
    message.retries = it->value().get_int64();
  }
  if (auto it = headers.find("timelimit"); it != headers.end() && it->value().is_array()) {
    const auto& limits = it->value().get_array();
    if (!limits.empty()) message.hard_time_limit = number_of(limits[0]);
    if (limits.size() > 1) message.soft_time_limit = number_of(limits[1]);
  }
  if (auto it = headers.find("ignore_result"); it != headers.end() && it->value().is_bool()) {
    message.ignore_result = it->value().get_bool();
  }
  message.delivery_tag = string_field(properties, "delivery_tag", "properties");
  message.reply_to = string_field(properties, "reply_to", "properties", false);
  if (auto it = properties.find("priority"); it != properties.end()) {
    message.priority = static_cast<std::int64_t>(number_of(it->value()).value_or(0));
  }
  if (auto it = properties.find("delivery_info");
      it != properties.end() && it->value().is_object()) {
    const auto& info = it->value().get_object();
    message.exchange = string_field(info, "exchange", "delivery_info", false);
    message.routing_key = string_field(info, "routing_key", "delivery_info", false);
    if (auto r = info.find("redelivered"); r != info.end() && r->value().is_bool()) {
      message.redelivered = r->value().get_bool();
    }
  }
  if (message.routing_key.empty()) message.routing_key = "celery";
  std::string body_text = string_field(envelope, "body", "message");
  if (string_field(properties, "body_encoding", "properties", false) == "base64") {
    auto decoded = crypto::base64_decode(body_text);
    if (!decoded) throw MalformedMessage("body is not valid base64");
    body_text = std::move(*decoded);
  }
  json::value body = json::parse(body_text, ec);
  if (ec || !body.is_array() || body.get_array().size() != 3 || !body.get_array()[0].is_array() ||
      !body.get_array()[1].is_object()) {
    throw MalformedMessage("body must be a JSON array [args, kwargs, embed] (protocol 2)");
  }
  message.args = body.get_array()[0].get_array();
  message.kwargs = body.get_array()[1].get_object();
  if (body.get_array()[2].is_object()) message.embed = body.get_array()[2].get_object();
  return message;
}

std::string mark_redelivered(std::string_view raw) {
  json::error_code ec;
  json::value parsed = json::parse(json::string_view(raw.data(), raw.size()), ec);
  if (ec || !parsed.is_object()) return std::string(raw);
  auto& envelope = parsed.get_object();
  if (auto* headers = envelope.if_contains("headers"); headers && headers->is_object()) {
    headers->get_object()["redelivered"] = true;
  }
  if (auto* properties = envelope.if_contains("properties");
      properties && properties->is_object()) {
    if (auto* info = properties->get_object().if_contains("delivery_info");
        info && info->is_object()) {
      info->get_object()["redelivered"] = true;
    }
  }
  return to_json(parsed);
}

}  // namespace october::celery
