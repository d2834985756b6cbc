#pragma once
// Celery's mingle step at start-up: before taking tasks, a worker asks the others (`hello`,
// with its own revoked ids) and merges the revoked ids and clocks they answer, so a task
// revoked while it was away is still not run. Waits one second for answers, as Celery does.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <vector>

#include "celery/kombu.hpp"
#include "worker/control.hpp"

namespace october::worker {

// Merges the hello replies of other nodes ({"<node>": {"revoked": {...}, "clock": n}}, null
// from nodes with nothing to say); returns how many nodes were merged.
std::size_t merge_hello_replies(Commands& commands, celery::LamportClock& clock,
                                const std::vector<boost::json::object>& replies);

// Sends hello on the broker's mailbox and merges the answers; logs the outcome. Redis being
// away is logged and skipped: remote control retries on its own, and tasks still start.
void mingle(Commands& commands, celery::LamportClock& clock, std::chrono::milliseconds wait);

}  // namespace october::worker
