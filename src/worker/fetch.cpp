// The worker's fetcher thread: takes messages with late acknowledgement up to the prefetch bound,
// holds ETA ones until due, restores messages of dead workers, and hands the rest back on stop.
#include <algorithm>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "core/log.hpp"
#include "worker/worker.hpp"

namespace october::worker {

using celery::Broker;
using celery::Delivery;

namespace {

constexpr std::size_t kFetchBatch = 64;

}  // namespace

void Worker::fetch_loop() {
  Broker broker(broker_url_, backend_url_, kRedisTimeout);
  FetchCursor cursor;
  for (const auto& queue : queues_) cursor.keys.push_back(celery::queue_keys(queue));
  cursor.restore_every = std::clamp(config_.visibility_timeout_seconds / 4, 1.0, 60.0);
  for (;;) {
    const std::optional<std::size_t> room = make_room();
    if (!room) break;
    if (*room == 0) continue;
    try {
      const double now = celery::now_unix();
      housekeeping(broker, cursor, now);
      std::vector<Delivery> deliveries = fetch_some(broker, cursor, *room);
      set_redis(true, "");
      cursor.backoff = 0.1;
      if (deliveries.empty()) {
        wait_for_work(broker, cursor, now);
        continue;
      }
      for (auto& delivery : deliveries) {
        if (auto job = decode(broker, std::move(delivery))) schedule(std::move(*job));
      }
    } catch (const redis::Error& e) {
      back_off(cursor, e);
    }
  }
  release_held(broker);
}

std::optional<std::size_t> Worker::make_room() {
  std::unique_lock lock(mutex_);
  const double now = celery::now_unix();
  while (!scheduled_.empty() && scheduled_.begin()->first <= now && taken_ < capacity_) {
    runnable_.push_back(std::move(scheduled_.begin()->second));
    scheduled_.erase(scheduled_.begin());
    ++taken_;
    runnable_ready_.notify_one();
  }
  if (!fetching_) return std::nullopt;
  if (taken_ >= capacity_) {
    // Prefetch is bounded (CONCURRENCY x PREFETCH_MULTIPLIER): the rest stays in Redis for
    // other workers.
    changed_.wait_for(lock, std::chrono::milliseconds(200));
    return 0;
  }
  return std::min<std::size_t>(capacity_ - taken_, kFetchBatch);
}

void Worker::housekeeping(Broker& broker, FetchCursor& cursor, double now) {
  if (now >= cursor.next_restore) {
    int restored = broker.restore_expired(config_.visibility_timeout_seconds);
    if (restored > 0) {
      restored_total_.inc(restored);
      log::info("restored unacked messages past the visibility timeout", {{"count", restored}});
    }
    cursor.next_restore = now + cursor.restore_every;
  }
  if (now >= cursor.next_gauge) {
    for (std::size_t i = 0; i < queues_.size(); ++i) {
      queue_length_.labels({queues_[i]})
          .set(static_cast<double>(broker.queue_length(cursor.keys[i])));
    }
    cursor.next_gauge = now + 1;
  }
}

std::vector<Delivery> Worker::fetch_some(Broker& broker, FetchCursor& cursor, std::size_t room) {
  std::vector<Delivery> deliveries;
  for (std::size_t i = 0; i < queues_.size() && deliveries.empty(); ++i) {
    std::size_t q = (cursor.turn + i) % queues_.size();
    deliveries = broker.fetch(queues_[q], cursor.keys[q], static_cast<int>(room));
  }
  ++cursor.turn;
  return deliveries;
}

void Worker::wait_for_work(Broker& broker, const FetchCursor& cursor, double now) {
  double wait = 0.5;
  {
    std::lock_guard lock(mutex_);
    // Wake in time for the next held ETA message.
    if (!scheduled_.empty()) wait = std::clamp(scheduled_.begin()->first - now, 0.01, 0.5);
  }
  broker.wait_for_message(cursor.keys[cursor.turn % cursor.keys.size()][0], wait);
}

void Worker::back_off(FetchCursor& cursor, const redis::Error& error) {
  set_redis(false, error.what());
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::duration<double>(cursor.backoff),
                    [this] { return !fetching_; });
  cursor.backoff = std::min(cursor.backoff * 2, 5.0);
}

std::optional<Worker::Job> Worker::decode(Broker& broker, Delivery delivery) {
  Job job{std::move(delivery), {}};
  try {
    job.message = celery::decode_envelope(job.delivery.raw);
    return job;
  } catch (const celery::MalformedMessage& e) {
    const std::string queue = celery::queue_of_key(job.delivery.queue_key);
    broker.dead_letter(queue, job.delivery.tag, job.delivery.raw, e.what());
    dead_letters_total_.inc();
    log::warn("malformed message dead-lettered",
              {{"queue", queue}, {"reason", e.what()}, {"tag", job.delivery.tag}});
    return std::nullopt;
  }
}

void Worker::schedule(Job job) {
  double eta = 0;
  if (job.message.eta) {
    try {
      eta = celery::parse_iso8601(*job.message.eta);
    } catch (const std::invalid_argument& e) {
      log::warn("unreadable eta; running now", {{"id", job.message.id}, {"error", e.what()}});
    }
  }
  const double now = celery::now_unix();
  ledger_.received(job.delivery.tag, job.message, eta, now);
  // A revoked ETA message is settled now, as Celery discards it on arrival.
  const bool hold = eta > now && !ledger_.revoked(job.message.id);
  std::lock_guard lock(mutex_);
  if (hold) {
    scheduled_.emplace(eta, std::move(job));  // held unacked, outside the prefetch bound
  } else {
    runnable_.push_back(std::move(job));
    ++taken_;
    runnable_ready_.notify_one();
  }
}

void Worker::release_held(Broker& broker) {
  std::vector<Job> held;
  {
    std::lock_guard lock(mutex_);
    for (auto& job : runnable_) held.push_back(std::move(job));
    taken_ -= runnable_.size();
    runnable_.clear();
    for (auto& [eta, job] : scheduled_) held.push_back(std::move(job));
    scheduled_.clear();
  }
  for (const auto& job : held) {
    try {
      broker.requeue(job.delivery.tag, celery::mark_redelivered(job.delivery.raw),
                     job.delivery.queue_key);
    } catch (const redis::Error& e) {
      // Still registered as unacked: any worker restores it after the visibility timeout.
      log::warn("could not requeue a held message",
                {{"tag", job.delivery.tag}, {"error", e.what()}});
    }
  }
  if (!held.empty()) log::info("requeued messages not started", {{"count", held.size()}});
}

}  // namespace october::worker
