# OCTOBER_SANITIZE: the sanitizers every target (libraries, binaries, tests) is built with. The
# asan and tsan presets set it; empty builds without.
set(OCTOBER_SANITIZE "" CACHE STRING "Sanitizers to build with: empty, address,undefined or thread")
# Build trees from when this was an option() hold it as a BOOL (OFF for none).
set_property(CACHE OCTOBER_SANITIZE PROPERTY TYPE STRING)
set_property(CACHE OCTOBER_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")
if(OCTOBER_SANITIZE AND NOT OCTOBER_SANITIZE MATCHES "^(address,undefined|address|undefined|thread)$")
  message(FATAL_ERROR "OCTOBER_SANITIZE=${OCTOBER_SANITIZE}: expected empty, address,undefined "
                      "(or one of them) or thread")
endif()
if(OCTOBER_SANITIZE)
  # Global, not per target: GoogleTest and the test binaries must be instrumented alike.
  add_compile_options(-fsanitize=${OCTOBER_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${OCTOBER_SANITIZE})
endif()
