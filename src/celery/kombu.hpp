#pragma once
// Kombu's message envelope as its Redis transport publishes it for the broadcast mailbox and for
// events ({"body": base64 JSON, "headers", "properties": {"delivery_info": {exchange,
// routing_key}, ...}}), the names it derives on Redis (fanout channels, binding sets) and
// Celery's Lamport clock that stamps these messages.
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace october::celery {

// Wire form of one message; delivery_mode 1 is kombu's "transient", what replies and events use.
std::string encode_kombu_message(const boost::json::value& body, boost::json::object headers,
                                 std::string_view exchange, std::string_view routing_key,
                                 int delivery_mode);

struct KombuMessage {
  boost::json::value body;
  boost::json::object headers;
};
// Throws MalformedMessage when `raw` is not a JSON envelope with a JSON body.
KombuMessage decode_kombu_message(std::string_view raw);

// The PUBLISH channel of a fanout exchange on broker db `db`: "/0.celery.pidbox", and with a
// routing key (kombu's fanout_patterns) "/0.celeryev/task.succeeded".
std::string fanout_channel(int db, std::string_view exchange, std::string_view routing_key = {});
// "_kombu.binding.<exchange>": the set of "<routing key>\x06\x16<pattern>\x06\x16<queue>".
std::string exchange_binding_key(std::string_view exchange);
std::string exchange_binding_member(std::string_view routing_key, std::string_view queue);
// The queues of a direct exchange's binding members that `routing_key` reaches.
std::vector<std::string> direct_route(const std::vector<std::string>& members,
                                      std::string_view routing_key);

// Celery's logical clock: forwarded for every message sent, moved past every clock received.
class LamportClock {
 public:
  std::int64_t forward() { return ++value_; }
  void adjust(std::int64_t other);
  [[nodiscard]] std::int64_t value() const { return value_.load(); }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace october::celery
