#pragma once
// Runs one task body in a child process (this same binary, started with --run-task), so a hard
// time limit can really stop it, as Celery's prefork pool does: a thread cannot be killed, a
// process can. Used only for tasks that have a time limit.
#include <boost/json/value.hpp>
#include <cstdint>
#include <vector>

#include "tasks/registry.hpp"

namespace october::worker {

inline constexpr const char* kRunTaskFlag = "--run-task";

// Parent side. Returns the task's value, or throws tasks::TaskError (the task's own failure,
// TimeLimitExceeded, or WorkerLostError when the child died) or tasks::Retry. At `soft_seconds`
// the child's context is cancelled (SoftTimeLimitExceeded in the body); at `hard_seconds` the
// child is killed. Zero means no such limit. Once `cancel` is cancelled (a terminate, or the
// worker giving up at shutdown) the child is killed and the call throws Terminated.
boost::json::value run_in_child(const tasks::TaskSpec& spec,
                                const std::vector<boost::json::value>& args, std::int64_t retries,
                                double soft_seconds, double hard_seconds,
                                const tasks::Context* cancel = nullptr);

// Child side: reads the call from stdin, writes the outcome to stdout; the process exit code.
int run_task_child();

}  // namespace october::worker
