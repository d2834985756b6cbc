#include "core/host_name.hpp"

#include <unistd.h>

#include <array>

namespace october {

std::string host_name() {
  // Linux host names are at most 64 bytes; the last byte stays NUL even if one were longer.
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

}  // namespace october
