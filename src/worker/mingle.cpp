#include "worker/mingle.hpp"

#include <boost/json/value.hpp>
#include <string>

#include "celery/pidbox.hpp"
#include "core/log.hpp"
#include "redis/client.hpp"

namespace october::worker {

namespace json = boost::json;

std::size_t merge_hello_replies(Commands& commands, celery::LamportClock& clock,
                                const std::vector<json::object>& replies) {
  const std::string& self = commands.facts().hostname;
  std::size_t merged = 0;
  for (const auto& reply : replies) {
    for (const auto& [node, answer] : reply) {
      if (node == self || !answer.is_object()) continue;
      const json::object& fields = answer.get_object();
      if (const auto* theirs = fields.if_contains("clock"); theirs && theirs->is_int64()) {
        clock.adjust(theirs->get_int64());
      }
      const auto* revoked = fields.if_contains("revoked");
      // The merge is the one answering a peer's hello does; its reply is not needed here.
      commands.run("hello", {{"from_node", node},
                             {"revoked", revoked != nullptr && revoked->is_object()
                                             ? *revoked
                                             : json::value(json::object{})}});
      ++merged;
    }
  }
  return merged;
}

void mingle(Commands& commands, celery::LamportClock& clock, std::chrono::milliseconds wait) {
  const WorkerFacts& facts = commands.facts();
  try {
    // Our own ids, as a hello from nobody in particular would be answered.
    json::value ours = commands.run("hello", {{"from_node", ""}, {"revoked", json::object{}}});
    json::object arguments{{"from_node", facts.hostname},
                           {"revoked", ours.as_object().at("revoked")}};
    celery::Mailbox mailbox(facts.broker, facts.hostname, wait + std::chrono::seconds(2));
    auto replies = mailbox.broadcast("hello", std::move(arguments), clock.forward(), wait);
    const std::size_t nodes = merge_hello_replies(commands, clock, replies);
    log::info("mingle: synced with other nodes",
              {{"nodes", nodes}, {"revoked", commands.run("revoked", {}).as_array().size()}});
  } catch (const redis::Error& e) {
    log::warn("mingle skipped: Redis unreachable", {{"error", e.what()}});
  }
}

}  // namespace october::worker
