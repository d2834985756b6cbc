#include "core/broker.hpp"

#include <boost/json.hpp>

#include "core/json_text.hpp"
#include "core/parse.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

// KEYS: unacked, unacked_index, dead-letter list, queue lists in priority order.
// ARGV: now. The unacked entry is kombu's '[<envelope>, "<exchange>", "<routing key>"]', built
// from the original bytes so the envelope is stored exactly as it was sent.
const std::string kFetch = R"lua(
for i = 4, #KEYS do
  local raw = redis.call('RPOP', KEYS[i])
  if raw then
    local ok, envelope = pcall(cjson.decode, raw)
    local tag, exchange, routing_key = nil, '', nil
    if ok and type(envelope) == 'table' and type(envelope.properties) == 'table' then
      tag = envelope.properties.delivery_tag
      local info = envelope.properties.delivery_info
      if type(info) == 'table' then
        if type(info.exchange) == 'string' then exchange = info.exchange end
        if type(info.routing_key) == 'string' then routing_key = info.routing_key end
      end
    end
    if type(tag) ~= 'string' or tag == '' then
      redis.call('LPUSH', KEYS[3], cjson.encode({
        reason = 'not a Celery message: no JSON envelope with properties.delivery_tag',
        queue = KEYS[i], message = raw, time = tonumber(ARGV[1])}))
      return {KEYS[i], raw, ''}
    end
    routing_key = routing_key or KEYS[4]
    redis.call('ZADD', KEYS[2], ARGV[1], tag)
    redis.call('HSET', KEYS[1], tag,
      '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']')
    return {KEYS[i], raw, tag}
  end
end
return false
)lua";

// KEYS: unacked, unacked_index, destination list. ARGV: tag, envelope.
const std::string kRequeue = R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
)lua";

// KEYS: unacked, unacked_index, queue list. ARGV: tag, new envelope. A retry enters at the
// producing end like any new message.
const std::string kRepublish = R"lua(
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS: unacked, unacked_index, dead list. ARGV: tag, record.
const std::string kDeadLetter = R"lua(
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS: unacked, unacked_index. ARGV: tag.
const std::string kAck = R"lua(
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua";

const std::string kReleaseMutex = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua";

redis::Reply checked(redis::Reply reply) {
  if (reply.kind == redis::Reply::Kind::error) throw redis::Error("redis error: " + reply.text);
  return reply;
}

std::string seconds_text(double seconds) {
  std::string text = format_double(seconds);
  return text;
}

}  // namespace

Broker::Broker(const redis::Url& broker, const redis::Url& backend,
               std::chrono::milliseconds timeout)
    : broker_(broker, timeout), backend_(backend, timeout) {}

redis::Reply Broker::eval(redis::Connection& connection, const std::string& script,
                          const std::vector<std::string>& keys,
                          const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVAL", script, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return checked(connection.command(argv));
}

void Broker::publish(TaskMessage& message) {
  std::string envelope = encode_envelope(message);
  const std::string& queue = message.routing_key;
  checked(broker_.command({"SADD", binding_key(queue), binding_member(queue)}));
  checked(broker_.command({"LPUSH", queue_key(queue, message.priority), envelope}));
}

std::optional<std::string> Broker::result(std::string_view task_id) {
  auto reply = checked(backend_.command({"GET", result_key(task_id)}));
  if (reply.kind != redis::Reply::Kind::string) return std::nullopt;
  return reply.text;
}

std::optional<Delivery> Broker::fetch(std::string_view queue,
                                      const std::vector<std::string>& keys) {
  std::vector<std::string> script_keys{std::string(kUnackedHash), std::string(kUnackedIndex),
                                       dead_letter_key(queue)};
  script_keys.insert(script_keys.end(), keys.begin(), keys.end());
  auto reply = eval(broker_, kFetch, script_keys, {seconds_text(now_unix())});
  if (reply.kind != redis::Reply::Kind::array || reply.elements.size() != 3) return std::nullopt;
  return Delivery{reply.elements[0].text, reply.elements[1].text, reply.elements[2].text};
}

void Broker::wait_for_message(const std::string& key, double timeout_seconds) {
  // Moving the tail element of a list onto its own tail changes nothing, but BLMOVE blocks
  // until the list is non-empty: a wait that takes nothing, so nothing can be lost here.
  checked(broker_.command({"BLMOVE", key, key, "RIGHT", "RIGHT", seconds_text(timeout_seconds)}));
}

void Broker::store_result(std::string_view task_id, const std::string& record,
                          std::int64_t expires_seconds) {
  std::string key = result_key(task_id);
  checked(backend_.command({"SETEX", key, std::to_string(expires_seconds), record}));
  checked(backend_.command({"PUBLISH", key, record}));
}

void Broker::ack(const std::string& tag) {
  eval(broker_, kAck, {std::string(kUnackedHash), std::string(kUnackedIndex)}, {tag});
}

bool Broker::requeue(const std::string& tag, const std::string& envelope,
                     const std::string& queue_key) {
  auto reply =
      eval(broker_, kRequeue, {std::string(kUnackedHash), std::string(kUnackedIndex), queue_key},
           {tag, envelope});
  return reply.integer == 1;
}

void Broker::dead_letter(std::string_view queue, const std::string& tag, const std::string& raw,
                         const std::string& reason) {
  std::string record = to_json(
      json::object{{"reason", reason}, {"queue", queue}, {"message", raw}, {"time", now_unix()}});
  eval(broker_, kDeadLetter,
       {std::string(kUnackedHash), std::string(kUnackedIndex), dead_letter_key(queue)},
       {tag, record});
}

void Broker::republish(const std::string& tag, const std::string& envelope,
                       const std::string& queue_key) {
  eval(broker_, kRepublish, {std::string(kUnackedHash), std::string(kUnackedIndex), queue_key},
       {tag, envelope});
}

int Broker::restore_expired(double visibility_timeout_seconds) {
  const std::string token = make_uuid4();
  auto locked =
      checked(broker_.command({"SET", std::string(kUnackedMutex), token, "PX", "300000", "NX"}));
  if (locked.kind != redis::Reply::Kind::status) return 0;  // another worker is restoring
  int restored = 0;
  try {
    for (int round = 0; round < 100; ++round) {
      auto due = checked(broker_.command({"ZREVRANGEBYSCORE", std::string(kUnackedIndex),
                                          seconds_text(now_unix() - visibility_timeout_seconds),
                                          "0", "WITHSCORES", "LIMIT", "0", "10"}));
      if (due.elements.empty()) break;
      for (std::size_t i = 0; i + 1 < due.elements.size(); i += 2) {
        const std::string& tag = due.elements[i].text;
        auto entry = checked(broker_.command({"HGET", std::string(kUnackedHash), tag}));
        if (entry.kind != redis::Reply::Kind::string) {
          checked(broker_.command({"ZREM", std::string(kUnackedIndex), tag}));
          continue;
        }
        json::error_code ec;
        auto payload = json::parse(entry.text, ec);
        if (ec || !payload.is_array() || payload.get_array().size() != 3 ||
            !payload.get_array()[0].is_object()) {
          dead_letter("unacked", tag, entry.text, "unacked entry is not [envelope, exchange, key]");
          continue;
        }
        const auto& parts = payload.get_array();
        std::string routing_key =
            parts[2].is_string() ? std::string(parts[2].get_string()) : std::string("celery");
        std::int64_t priority = 0;
        if (const auto* p = parts[0].get_object().if_contains("properties");
            p != nullptr && p->is_object()) {
          if (const auto* pr = p->get_object().if_contains("priority");
              pr != nullptr && pr->is_int64()) {
            priority = pr->get_int64();
          }
        }
        std::string envelope = mark_redelivered(to_json(parts[0]));
        if (requeue(tag, envelope, queue_key(routing_key, priority))) ++restored;
      }
    }
  } catch (...) {
    eval(broker_, kReleaseMutex, {std::string(kUnackedMutex)}, {token});
    throw;
  }
  eval(broker_, kReleaseMutex, {std::string(kUnackedMutex)}, {token});
  return restored;
}

std::int64_t Broker::queue_length(const std::vector<std::string>& keys) {
  std::int64_t total = 0;
  for (const auto& key : keys) total += checked(broker_.command({"LLEN", key})).integer;
  return total;
}

}  // namespace october::celery
