# The test helpers the folders under tests/ call.
set(OCTOBER_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Debian python3 with pytest, requests, redis, yaml and celery")

# One pytest file of the calling folder, test_<name>.py, as the CTest test <suite>.<name>,
# labelled <suite>, with the built binaries in its environment.
function(october_add_pytest suite name timeout)
  add_test(
    NAME ${suite}.${name}
    COMMAND ${OCTOBER_PYTHON} -m pytest -q -p no:cacheprovider
            ${CMAKE_CURRENT_SOURCE_DIR}/test_${name}.py
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(${suite}.${name} PROPERTIES
    ENVIRONMENT "OCTOBER_API_BIN=$<TARGET_FILE:october-api>;OCTOBER_WORKER_BIN=$<TARGET_FILE:october-worker>;PYTHONDONTWRITEBYTECODE=1"
    LABELS ${suite}
    TIMEOUT ${timeout})
endfunction()

# A test of the calling folder's run.sh that builds images and runs containers with rootful
# Podman, as the CTest test and label <name>: alone (RUN_SERIAL), since its in-container compile
# takes both cores and would starve the timing-sensitive tests; exit 77 (not root) is a skip. It
# compiles its own release binaries inside the images, so the sanitizer presets leave it out.
function(october_add_podman_test name timeout)
  if(OCTOBER_SANITIZE)
    return()
  endif()
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/run.sh)
  set_tests_properties(${name} PROPERTIES
    RUN_SERIAL TRUE
    TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "OCTOBER_PYTHON=${OCTOBER_PYTHON}"
    LABELS ${name}
    ${ARGN})
endfunction()
