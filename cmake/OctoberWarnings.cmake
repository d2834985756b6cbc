# october_warnings: the warning policy as an INTERFACE target. Every october library and
# executable links it PRIVATE, so the flags apply to october's own code and reach no consumer
# (a static library's PRIVATE links propagate only as $<LINK_ONLY:...>, without compile options).
add_library(october_warnings INTERFACE)
target_compile_options(october_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  # GCC 12 also warns on designated initializers that leave members to their defaults, which is
  # how the route tables are written on purpose.
  -Wno-missing-field-initializers)
