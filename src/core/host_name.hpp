#pragma once
// The machine's host name, as Celery node names, message origins and /version report it.
#include <string>

namespace october {

// gethostname(), or "unknown" if it fails.
std::string host_name();

}  // namespace october
