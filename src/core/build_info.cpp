#include "core/build_info.hpp"

namespace october::build_info {

// Defined for this file alone so a new revision rebuilds one translation unit.
std::string_view version() { return OCTOBER_VERSION; }
std::string_view revision() { return OCTOBER_REVISION; }

}  // namespace october::build_info
