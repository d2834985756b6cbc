// Prints what october_core's build_info reports, for test_follows_git.py: "<version> <revision>".
#include <iostream>

#include "core/build_info.hpp"

int main() {
  std::cout << october::build_info::version() << ' ' << october::build_info::revision() << '\n';
  return 0;
}
