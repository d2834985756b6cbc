# The revision logic before cmake/OctoberRevision.cmake, kept to show that test_follows_git.py
# catches it: git is read once, at the first configure, into a cache variable, so later commits
# never reach the binaries. OCTOBER_REVISION_TEST_PRE_FIX=1 puts this file in the copy's place.
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE OCTOBER_GIT_REVISION
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT OCTOBER_GIT_REVISION)
  set(OCTOBER_GIT_REVISION "unknown")
endif()
set(OCTOBER_REVISION "${OCTOBER_GIT_REVISION}" CACHE STRING "Source revision reported by the binaries")
set(october_revision_dir ${CMAKE_BINARY_DIR}/generated/revision)
file(WRITE ${october_revision_dir}/october_revision.hpp
     "#pragma once\n#define OCTOBER_REVISION \"${OCTOBER_REVISION}\"\n")
add_library(october_revision INTERFACE)
target_include_directories(october_revision INTERFACE ${october_revision_dir})
