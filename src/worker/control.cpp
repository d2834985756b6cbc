#include "worker/control.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <stdexcept>
#include <utility>

#include "celery/envelope.hpp"
#include "celery/pidbox.hpp"
#include "celery/timestamps.hpp"
#include "core/host_name.hpp"
#include "core/log.hpp"
#include "tasks/registry.hpp"

namespace october::worker {

namespace json = boost::json;

namespace {

json::object ok(std::string_view text) { return {{"ok", text}}; }
json::object nok(std::string_view text) { return {{"error", text}}; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool truthy(const json::object& arguments, std::string_view name) {
  const json::value* value = arguments.if_contains(name);
  if (value == nullptr) return false;
  if (value->is_bool()) return value->get_bool();
  if (value->is_int64()) return value->get_int64() != 0;
  if (value->is_string()) return value->get_string() == "true" || value->get_string() == "1";
  return false;
}

double timeval_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

json::object rusage_fields() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {{"utime", timeval_seconds(usage.ru_utime)},
          {"stime", timeval_seconds(usage.ru_stime)},
          {"maxrss", usage.ru_maxrss},
          {"ixrss", usage.ru_ixrss},
          {"idrss", usage.ru_idrss},
          {"isrss", usage.ru_isrss},
          {"minflt", usage.ru_minflt},
          {"majflt", usage.ru_majflt},
          {"nswap", usage.ru_nswap},
          {"inblock", usage.ru_inblock},
          {"oublock", usage.ru_oublock},
          {"msgsnd", usage.ru_msgsnd},
          {"msgrcv", usage.ru_msgrcv},
          {"nsignals", usage.ru_nsignals},
          {"nvcsw", usage.ru_nvcsw},
          {"nivcsw", usage.ru_nivcsw}};
}

// What october cannot do, by command, in the words of its reply.
const std::vector<std::pair<std::string_view, std::string_view>>& unsupported() {
  static const std::vector<std::pair<std::string_view, std::string_view>> list{
      {"pool_grow", "the thread pool is fixed at CONCURRENCY; start the worker with another"},
      {"pool_shrink", "the thread pool is fixed at CONCURRENCY; start the worker with another"},
      {"pool_restart", "there is no pool of processes to restart"},
      {"autoscale", "autoscaling is not offered; scale the number of workers instead"},
      {"rate_limit", "rate limits are not offered"},
      {"time_limit", "time limits are set per message or by TASK_*TIME_LIMIT_SECONDS"},
      {"add_consumer", "queues are fixed by QUEUES at start-up"},
      {"cancel_consumer", "queues are fixed by QUEUES at start-up"},
      {"conf", "there is no Python configuration to list; see october-worker --help"},
      {"report", "there is no Python installation to report on"},
      {"memsample", "memory sampling is not offered; see /metrics"},
      {"memdump", "memory sampling is not offered; see /metrics"},
      {"objgraph", "there are no Python objects to graph"},
      {"election", "gossip elections are not offered"}};
  return list;
}

}  // namespace

void add_control_options(config::Options& options, std::string& hostname, bool& send_events,
                         bool& mingle) {
  options.add_string("WORKER_HOSTNAME", &hostname,
                     "node name in remote control replies and events (Celery's --hostname; %h, "
                     "%n, %d expand); empty means celery@<host name>",
                     [](const std::string& raw) {
                       if (raw.find_first_of(" \t\n") != std::string::npos) {
                         throw std::invalid_argument("a node name has no spaces");
                       }
                     });
  options.add_bool("WORKER_SEND_EVENTS", &send_events,
                   "make the worker send task events (Celery's -E); worker events are always sent");
  options.add_bool("WORKER_MINGLE", &mingle,
                   "at start-up ask the other workers for their revoked ids (Celery's mingle; "
                   "false as its --without-mingle), waiting 1 s for answers");
  // The flags a Celery worker's command line already has, so a deployment's args carry over.
  options.add_alias("WORKER_HOSTNAME", "--hostname");
  options.add_alias("WORKER_HOSTNAME", "-n");
  options.add_alias("WORKER_SEND_EVENTS", "--task-events");
  options.add_alias("WORKER_SEND_EVENTS", "-E");
}

std::string node_name(const std::string& configured) {
  const std::string host = host_name();
  if (configured.empty()) return "celery@" + host;
  const auto dot = host.find('.');
  const std::string first = host.substr(0, dot);
  const std::string rest = dot == std::string::npos ? "" : host.substr(dot + 1);
  std::string out;
  for (std::size_t i = 0; i < configured.size(); ++i) {
    if (configured[i] == '%' && i + 1 < configured.size()) {
      const char code = configured[i + 1];
      if (code == 'h' || code == 'n' || code == 'd' || code == '%') {
        out += code == 'h' ? host : code == 'n' ? first : code == 'd' ? rest : "%";
        ++i;
        continue;
      }
    }
    out += configured[i];
  }
  return out;
}

std::vector<std::string> id_list(const json::value* value) {
  std::vector<std::string> ids;
  if (value == nullptr) return ids;
  if (value->is_string()) ids.emplace_back(value->get_string());
  if (value->is_array()) {
    for (const auto& item : value->get_array()) {
      if (item.is_string()) ids.emplace_back(item.get_string());
    }
  }
  return ids;
}

json::value Commands::run(std::string_view method, const json::object& arguments) {
  const double now = celery::now_unix();
  if (method == "ping") return ok("pong");
  if (method == "stats") return stats();
  if (method == "active" || method == "dump_active") return ledger_.active();
  if (method == "reserved" || method == "dump_reserved") return ledger_.reserved(now);
  if (method == "scheduled" || method == "dump_schedule") return ledger_.scheduled(now);
  if (method == "revoked" || method == "dump_revoked") return ledger_.revoked_ids();
  if (method == "query_task") return ledger_.query(id_list(arguments.if_contains("ids")));
  if (method == "active_queues") return active_queues();
  if (method == "clock") return json::object{{"clock", clock_.value()}};
  if (method == "registered" || method == "dump_tasks") {
    std::vector<std::string> names;
    for (const auto& spec : tasks::registry()) names.push_back(spec.name);
    std::sort(names.begin(), names.end());
    json::array out;
    for (const auto& name : names) out.emplace_back(name);
    return out;
  }
  if (method == "revoke") return revoke(arguments);
  if (method == "terminate") {
    json::object with_terminate = arguments;
    with_terminate["terminate"] = true;
    return revoke(with_terminate);
  }
  if (method == "hello") {
    const json::value* from = arguments.if_contains("from_node");
    if (from != nullptr && from->is_string() && from->get_string() == facts_.hostname) {
      return nullptr;
    }
    json::object theirs;
    if (const auto* revoked = arguments.if_contains("revoked"); revoked && revoked->is_object()) {
      theirs = revoked->get_object();
    }
    // Celery keeps insertion times on its monotonic clock and sends them as they are.
    const double monotonic =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return json::object{{"revoked", ledger_.exchange_revoked(theirs, monotonic)},
                        {"clock", clock_.forward()}};
  }
  if (method == "enable_events") {
    return hooks_.set_task_events(true) ? ok("task events enabled")
                                        : ok("task events already enabled");
  }
  if (method == "disable_events") {
    return hooks_.set_task_events(false) ? ok("task events disabled")
                                         : ok("task events already disabled");
  }
  if (method == "heartbeat") {
    hooks_.send_heartbeat();
    return nullptr;
  }
  if (method == "shutdown") {
    log::warn("shutdown requested by remote control");
    hooks_.shutdown();
    // Celery leaves without a reply; a client that asked for one gets it here.
    return ok("shutting down");
  }
  for (const auto& [name, why] : unsupported()) {
    if (method == name)
      return nok(std::string(name) + " is not supported by october-worker: " + std::string(why));
  }
  // What Celery's Node.dispatch answers for a command it has no handler for.
  return nok("KeyError('" + std::string(method) + "')");
}

json::value Commands::revoke(const json::object& arguments) {
  const std::vector<std::string> ids = id_list(arguments.if_contains("task_id"));
  const bool terminate = truthy(arguments, "terminate");
  std::string signal = "SIGTERM";
  if (const auto* given = arguments.if_contains("signal"); given && given->is_string()) {
    signal = std::string(given->get_string());
  }
  if (terminate && !signal_number(signal)) return nok("unknown signal " + signal);
  const double monotonic =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  auto revocation = ledger_.revoke(ids, terminate, signal, monotonic);
  if (terminate) {
    if (revocation.terminated.empty()) return ok("terminate: tasks unknown");
    log::info("terminating tasks", {{"ids", join(revocation.terminated)}});
    return ok("terminate: " + join(revocation.terminated));
  }
  log::info("tasks flagged as revoked", {{"ids", join(ids)}});
  return ok("tasks " + join(ids) + " flagged as revoked");
}

json::value Commands::stats() const {
  const redis::Url& broker = facts_.broker;
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now() - facts_.started)
                          .count();
  json::value userid = nullptr;
  if (!broker.username.empty()) userid = broker.username;
  return json::object{{"total", ledger_.totals()},
                      {"pid", facts_.pid},
                      {"clock", std::to_string(clock_.value())},
                      {"uptime", uptime},
                      {"pool",
                       {{"max-concurrency", facts_.concurrency},
                        {"threads", facts_.concurrency},
                        {"timeouts", json::array{facts_.soft_time_limit, facts_.hard_time_limit}}}},
                      {"broker",
                       {{"hostname", broker.host},
                        {"userid", userid},
                        {"virtual_host", std::to_string(broker.db)},
                        {"port", broker.port},
                        {"insist", false},
                        {"ssl", false},
                        {"transport", "redis"},
                        {"connect_timeout", 4},
                        {"transport_options", json::object{}},
                        {"login_method", nullptr},
                        {"uri_prefix", nullptr},
                        {"heartbeat", 120.0},
                        {"failover_strategy", "round-robin"},
                        {"alternates", json::array{}}}},
                      {"prefetch_count", facts_.prefetch_count},
                      {"rusage", rusage_fields()}};
}

json::value Commands::active_queues() const {
  json::array out;
  for (const auto& queue : facts_.queues) {
    out.push_back(json::object{{"name", queue},
                               {"exchange",
                                {{"name", queue},
                                 {"type", "direct"},
                                 {"arguments", nullptr},
                                 {"durable", true},
                                 {"passive", false},
                                 {"auto_delete", false},
                                 {"delivery_mode", nullptr},
                                 {"no_declare", false}}},
                               {"routing_key", queue},
                               {"queue_arguments", nullptr},
                               {"binding_arguments", nullptr},
                               {"consumer_arguments", nullptr},
                               {"durable", true},
                               {"exclusive", false},
                               {"auto_delete", false},
                               {"no_ack", false},
                               {"alias", nullptr},
                               {"bindings", json::array{}},
                               {"no_declare", nullptr},
                               {"expires", nullptr},
                               {"message_ttl", nullptr},
                               {"max_length", nullptr},
                               {"max_length_bytes", nullptr},
                               {"max_priority", nullptr}});
  }
  return out;
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void ControlServer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void ControlServer::loop() {
  const WorkerFacts& facts = commands_.facts();
  celery::Mailbox mailbox(facts.broker, facts.hostname, std::chrono::milliseconds(2000));
  bool listening = false;
  double backoff = 0.1;
  while (!stopping_) {
    try {
      if (!listening) {
        mailbox.listen();
        listening = true;
        backoff = 0.1;
      }
      // Short waits, so a stop is seen within a fraction of a second.
      auto raw = mailbox.receive(std::chrono::milliseconds(200));
      if (!raw) continue;
      clock_.forward();
      celery::ControlRequest request;
      try {
        request = celery::decode_control(*raw);
      } catch (const celery::MalformedMessage& e) {
        log::warn("unreadable control message ignored", {{"reason", e.what()}});
        continue;
      }
      clock_.adjust(request.clock);
      if (!celery::addressed_to(request, facts.hostname)) continue;
      json::value reply = commands_.run(request.method, request.arguments);
      mailbox.reply(request, reply, clock_.forward());
    } catch (const redis::Error& e) {
      if (listening) log::warn("remote control lost Redis; retrying", {{"error", e.what()}});
      listening = false;
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
      backoff = std::min(backoff * 2, 2.0);
    }
  }
  try {
    mailbox.close();
  } catch (const redis::Error&) {
    // The binding is only informative; Redis being away at shutdown costs nothing.
  }
}

}  // namespace october::worker
