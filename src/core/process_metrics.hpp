#pragma once
#include "core/metrics.hpp"

namespace october::metrics {

// Registers the standard process_* metrics, read from /proc at scrape time.
void register_process_metrics(Registry& registry);

// october_build_info{version,revision} 1.
void register_build_info(Registry& registry);

// Resident set size of this process in bytes (0 when /proc is unreadable).
double resident_memory_bytes();

}  // namespace october::metrics
