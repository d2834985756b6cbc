#pragma once
// SIGTERM and SIGINT are taken synchronously (sigwait) by the thread running the lifecycle, never
// by a handler: so shutdown runs as ordinary code, free to lock, log and join.
#include <chrono>
#include <string>

namespace october {

// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so the lifecycle's
// sigwait is their only receiver. Call first thing in main.
void block_shutdown_signals();

// Blocks until SIGTERM or SIGINT arrives; returns its name.
std::string wait_for_shutdown_signal();
// Sleeps up to `wait`; returns early (true) when another shutdown signal arrives.
bool interrupted_within(std::chrono::milliseconds wait);

}  // namespace october
