# The source revision the binaries report (/version, october_build_info): read from git at every
# build, not at configure time, so a build after new commits names the new HEAD. The generated
# header october_revision.hpp is rewritten only when its content changes, so a build with no new
# commit recompiles and relinks nothing.
#
# OCTOBER_REVISION, when set (-DOCTOBER_REVISION=...), wins over git: the image build passes it,
# since its context has no .git.
find_package(Git QUIET)

# Until this module, OCTOBER_REVISION held the HEAD of the first configure, under this help
# string; such a value is dropped once so that older build trees follow git too.
get_property(october_revision_help CACHE OCTOBER_REVISION PROPERTY HELPSTRING)
if(october_revision_help STREQUAL "Source revision reported by the binaries")
  unset(OCTOBER_REVISION CACHE)
endif()
set(OCTOBER_REVISION "" CACHE STRING
    "Source revision reported by the binaries; empty: the git HEAD, read at every build")

set(october_revision_dir ${CMAKE_BINARY_DIR}/generated/revision)
# A custom target is out of date at every build; BYPRODUCTS lets Ninja see that the header kept
# its timestamp (restat), so nothing that includes it rebuilds.
add_custom_target(october_revision_header
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DOUTPUT=${october_revision_dir}/october_revision.hpp
          "-DREVISION=${OCTOBER_REVISION}" "-DGIT=${GIT_EXECUTABLE}"
          -P ${CMAKE_CURRENT_LIST_DIR}/OctoberRevisionWrite.cmake
  BYPRODUCTS ${october_revision_dir}/october_revision.hpp
  COMMENT "Reading the source revision"
  VERBATIM)

# What build_info.cpp links to include the header, generated before it compiles.
add_library(october_revision INTERFACE)
target_include_directories(october_revision INTERFACE ${october_revision_dir})
add_dependencies(october_revision october_revision_header)
