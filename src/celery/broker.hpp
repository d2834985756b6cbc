#pragma once
// Celery's Redis transport and result backend, speaking the same keys as kombu so october and
// Python Celery producers, workers and clients mix freely. One Broker per thread (it owns two
// blocking connections).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "celery/apply.hpp"
#include "celery/canvas.hpp"
#include "celery/envelope.hpp"
#include "redis/client.hpp"

namespace october::celery {

struct Delivery {
  std::string queue_key;  // the list it came from
  std::string raw;        // the envelope as received
  std::string tag;        // delivery tag (generated for a message that lacks one)
};

class Broker {
 public:
  Broker(const redis::Url& broker, const redis::Url& backend, std::chrono::milliseconds timeout);

  // Producer side.
  void publish(TaskMessage& message);
  std::optional<std::string> result(std::string_view task_id);

  // Consumer side. Pops up to `max_count` waiting messages of `keys` (highest priority first)
  // and registers them in unacked/unacked_index in the same Lua script, so no crash can lose
  // one. A message without a delivery tag gets a generated one; the caller dead-letters it.
  std::vector<Delivery> fetch(std::string_view queue, const std::vector<std::string>& keys,
                              int max_count);
  // Blocks until `key` holds a message or the timeout passes, without taking anything.
  void wait_for_message(const std::string& key, double timeout_seconds);
  // A finished task: its result record to store (unless empty), then its message to ack, or
  // to replace by `retry_envelope` on `retry_queue_key` when it is retried. What its canvas
  // asks for (celery/canvas.hpp) comes along: further results, messages to publish and its
  // part of a chord.
  struct Completion {
    std::string task_id;
    std::string record;
    std::string tag;
    std::string retry_envelope;
    std::string retry_queue_key;
    std::vector<std::pair<std::string, std::string>> records;  // task id, record
    std::vector<std::pair<std::string, std::string>> values;   // backend key, value
    std::vector<Publish> publishes;
    std::optional<ChordPart> chord;
  };
  // Stores the results and acks the messages of a batch, publishing what follows them. When
  // broker and backend are the same Redis server this is one Lua script after the chord
  // parts have joined: results, follow-up messages and acks land together or not at all, and
  // a chord's body is written by one completion only, even if a part runs twice.
  void complete(const std::vector<Completion>& batch, std::int64_t expires_seconds);
  // Puts an unacked message back on a queue (if still unacked), atomically with its removal.
  bool requeue(const std::string& tag, const std::string& envelope, const std::string& queue_key);
  // Moves an unacked message to `<queue>.dead` as {"reason","queue","time","message"} (or
  // "message_base64" when the message is not UTF-8).
  void dead_letter(std::string_view queue, const std::string& tag, const std::string& raw,
                   const std::string& reason);
  // Restores messages unacked for longer than the visibility timeout, under Celery's mutex.
  // Returns how many were restored.
  int restore_expired(double visibility_timeout_seconds);
  std::int64_t queue_length(const std::vector<std::string>& keys);

 private:
  // Adds a chord part to its join; what the body needs when this part completed the chord.
  std::optional<ChordFinish> join_chord(const ChordPart& part, std::int64_t expires_seconds);
  redis::Reply eval(redis::Connection& connection, std::string_view script,
                    const std::vector<std::string>& keys, const std::vector<std::string>& args);

  redis::Connection broker_;
  redis::Connection backend_;
  // SHA-1 of each script run so far, keyed by its text's address (the scripts are constants).
  std::unordered_map<const char*, std::string> script_shas_;
  bool same_server_;
  int broker_db_;
  int backend_db_;
};

}  // namespace october::celery
