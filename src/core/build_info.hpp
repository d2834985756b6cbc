#pragma once
#include <string_view>

namespace october::build_info {

std::string_view version();
std::string_view revision();

}  // namespace october::build_info
