#include "celery/broker.hpp"

#include <openssl/evp.h>

#include <array>
#include <boost/json.hpp>

#include "celery/keys.hpp"
#include "celery/lua_scripts.hpp"
#include "celery/timestamps.hpp"
#include "core/json_text.hpp"
#include "core/parse.hpp"
#include "crypto/base64.hpp"

namespace october::celery {

namespace json = boost::json;
using redis::checked;

namespace {

// Lowercase hex SHA-1, the name EVALSHA knows a cached script by.
std::string sha1_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 of a Lua script failed");
  }
  constexpr std::string_view digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{2} * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(digits[digest[i] >> 4]);
    hex.push_back(digits[digest[i] & 0xF]);
  }
  return hex;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80           ? 1
                         : (byte >> 5) == 0x6  ? 2
                         : (byte >> 4) == 0xE  ? 3
                         : (byte >> 3) == 0x1E ? 4
                                               : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

std::string seconds_text(double seconds) {
  std::string text = format_double(seconds);
  return text;
}

}  // namespace

Broker::Broker(const redis::Url& broker, const redis::Url& backend,
               std::chrono::milliseconds timeout)
    : broker_(broker, timeout),
      backend_(backend, timeout),
      same_server_(broker.host == backend.host && broker.port == backend.port &&
                   broker.username == backend.username && broker.password == backend.password),
      broker_db_(broker.db),
      backend_db_(backend.db) {}

std::optional<ChordFinish> Broker::join_chord(const ChordPart& part, std::int64_t expires_seconds) {
  const std::string score =
      part.group_index ? std::to_string(*part.group_index) : std::string("+inf");
  auto reply = eval(backend_, lua::kChordPart,
                    {chord_key(part.group_id, ".j"), chord_key(part.group_id, ".t"),
                     chord_key(part.group_id, ".s")},
                    {part.member, score, std::to_string(expires_seconds)});
  if (reply.elements.size() < 2 || reply.elements[0].integer != 1) return std::nullopt;
  std::vector<std::string> members;
  for (const auto& member : reply.elements[1].elements) members.push_back(member.text);
  return finish_chord(part, members, now_unix());
}

void Broker::complete(const std::vector<Completion>& batch, std::int64_t expires_seconds) {
  if (batch.empty()) return;
  const std::string expires = std::to_string(expires_seconds);
  // A part that completes its chord brings the body's message (or its ChordError) along,
  // guarded by the chord's keys: whichever script deletes them writes it, once.
  std::vector<std::optional<ChordFinish>> finishes(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].chord) finishes[i] = join_chord(*batch[i].chord, expires_seconds);
  }
  std::vector<bool> claimed(batch.size(), false);
  if (!same_server_) {
    // Results first, on their own server: a crash before the acks only means redelivery.
    std::vector<std::vector<std::string>> commands;
    auto set = [&](const std::string& key, const std::string& value) {
      commands.push_back({"SETEX", key, expires, value});
      commands.push_back({"PUBLISH", key, value});
    };
    auto store = [&](const std::string& task_id, const std::string& record) {
      set(result_key(task_id), record);
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& done = batch[i];
      if (!done.record.empty()) store(done.task_id, done.record);
      for (const auto& [id, record] : done.records) store(id, record);
      // A chord applied by this task: its size is on the backend before its parts are sent.
      for (const auto& [key, value] : done.values) set(key, value);
      if (!finishes[i]) continue;
      const std::string group_id = done.chord->group_id;
      auto deleted =
          checked(backend_.command({"DEL", chord_key(group_id, ".j"), chord_key(group_id, ".t"),
                                    chord_key(group_id, ".s")}));
      claimed[i] = deleted.integer > 0;
      if (claimed[i]) {
        for (const auto& [id, record] : finishes[i]->records) store(id, record);
        for (const auto& [key, value] : finishes[i]->values) set(key, value);
      }
    }
    for (const auto& reply : backend_.pipeline(commands)) checked(reply);
  }
  std::vector<std::string> args{std::to_string(same_server_ ? backend_db_ : broker_db_),
                                std::to_string(broker_db_), expires};
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  // Task records under their result keys, then values under their own keys: the script sets
  // and publishes each alike, as the backend's set() does.
  auto add_records = [&](const Pairs& records, const Pairs& values) {
    args.push_back(std::to_string(same_server_ ? records.size() + values.size() : 0));
    if (!same_server_) return;
    for (const auto& [id, record] : records) {
      args.push_back(result_key(id));
      args.push_back(record);
    }
    for (const auto& [key, value] : values) {
      args.push_back(key);
      args.push_back(value);
    }
  };
  auto add_publishes = [&](const std::vector<Publish>& publishes) {
    args.push_back(std::to_string(publishes.size()));
    for (const auto& message : publishes) {
      args.push_back(message.queue.empty() ? std::string() : binding_key(message.queue));
      args.push_back(message.queue.empty() ? std::string() : binding_member(message.queue));
      args.push_back(message.queue_key);
      args.push_back(message.envelope);
    }
  };
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& done = batch[i];
    args.push_back(result_key(done.task_id));
    args.push_back(same_server_ ? done.record : std::string());
    args.push_back(done.tag);
    add_records(done.records, done.values);
    std::vector<Publish> publishes = done.publishes;
    if (!done.retry_envelope.empty()) {
      publishes.push_back({std::string(), done.retry_queue_key, done.retry_envelope});
    }
    if (claimed[i]) {
      publishes.insert(publishes.end(), finishes[i]->publishes.begin(),
                       finishes[i]->publishes.end());
    }
    add_publishes(publishes);
    if (same_server_ && finishes[i]) {
      const std::string& group_id = done.chord->group_id;
      args.insert(args.end(), {"3", chord_key(group_id, ".j"), chord_key(group_id, ".t"),
                               chord_key(group_id, ".s")});
      add_records(finishes[i]->records, finishes[i]->values);
      add_publishes(finishes[i]->publishes);
    } else {
      args.insert(args.end(), {"0", "0", "0"});
    }
  }
  eval(broker_, lua::kComplete, {std::string(kUnackedHash), std::string(kUnackedIndex)}, args);
}

redis::Reply Broker::eval(redis::Connection& connection, std::string_view script,
                          const std::vector<std::string>& keys,
                          const std::vector<std::string>& args) {
  // EVALSHA spares Redis re-reading and re-hashing the script's text on every call (a large part
  // of a small batch's cost); a server that has not seen the script yet, or has lost it to
  // SCRIPT FLUSH or a restart, answers NOSCRIPT and gets the text once with EVAL.
  auto [entry, added] = script_shas_.try_emplace(script.data());
  if (added) entry->second = sha1_hex(script);
  std::vector<std::string> argv{"EVALSHA", entry->second, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = connection.command(argv);
  if (reply.kind == redis::Reply::Kind::error && reply.text.starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = std::string(script);
    reply = connection.command(argv);
  }
  return checked(std::move(reply));
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

std::vector<Delivery> Broker::fetch(std::string_view queue, const std::vector<std::string>& keys,
                                    int max_count) {
  std::vector<std::string> script_keys{std::string(kUnackedHash), std::string(kUnackedIndex),
                                       dead_letter_key(queue)};
  script_keys.insert(script_keys.end(), keys.begin(), keys.end());
  auto reply = eval(broker_, lua::kFetch, script_keys,
                    {seconds_text(now_unix()), std::to_string(max_count), make_uuid4()});
  std::vector<Delivery> deliveries;
  for (std::size_t i = 0; i + 2 < reply.elements.size(); i += 3) {
    deliveries.push_back(
        {reply.elements[i].text, reply.elements[i + 1].text, reply.elements[i + 2].text});
  }
  return deliveries;
}

void Broker::wait_for_message(const std::string& key, double timeout_seconds) {
  // Moving the tail element of a list onto its own tail changes nothing, but BLMOVE blocks
  // until the list is non-empty: a wait that takes nothing, so nothing can be lost here.
  checked(broker_.command({"BLMOVE", key, key, "RIGHT", "RIGHT", seconds_text(timeout_seconds)}));
}

bool Broker::requeue(const std::string& tag, const std::string& envelope,
                     const std::string& queue_key) {
  auto reply =
      eval(broker_, lua::kRequeue,
           {std::string(kUnackedHash), std::string(kUnackedIndex), queue_key}, {tag, envelope});
  return reply.integer == 1;
}

void Broker::dead_letter(std::string_view queue, const std::string& tag, const std::string& raw,
                         const std::string& reason) {
  json::object fields{{"reason", reason}, {"queue", queue}, {"time", now_unix()}};
  // JSON text must be UTF-8: anything else is kept byte for byte, base64-encoded.
  if (valid_utf8(raw)) {
    fields["message"] = raw;
  } else {
    fields["message_base64"] = crypto::base64_encode(raw);
  }
  std::string record = to_json(fields);
  eval(broker_, lua::kDeadLetter,
       {std::string(kUnackedHash), std::string(kUnackedIndex), dead_letter_key(queue)},
       {tag, record});
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
    eval(broker_, lua::kReleaseMutex, {std::string(kUnackedMutex)}, {token});
    throw;
  }
  eval(broker_, lua::kReleaseMutex, {std::string(kUnackedMutex)}, {token});
  return restored;
}

std::int64_t Broker::queue_length(const std::vector<std::string>& keys) {
  std::int64_t total = 0;
  for (const auto& key : keys) total += checked(broker_.command({"LLEN", key})).integer;
  return total;
}

}  // namespace october::celery
