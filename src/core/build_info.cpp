#include "core/build_info.hpp"

#include "october_revision.hpp"  // generated at every build: cmake/OctoberRevision.cmake

namespace october::build_info {

// OCTOBER_VERSION is defined for this file alone (src/core/CMakeLists.txt) and the revision
// header is included by it alone, so a new version or revision rebuilds one translation unit.
std::string_view version() { return OCTOBER_VERSION; }
std::string_view revision() { return OCTOBER_REVISION; }

}  // namespace october::build_info
