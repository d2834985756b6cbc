# cmake -DSOURCE_DIR=... -DOUTPUT=.../october_revision.hpp [-DREVISION=...] [-DGIT=...] -P this
# Writes OUTPUT defining OCTOBER_REVISION: REVISION when given, else the short git HEAD of
# SOURCE_DIR, else "unknown". OUTPUT is left untouched when its content would not change.
if(REVISION STREQUAL "")
  set(REVISION unknown)
  if(GIT)
    execute_process(
      COMMAND ${GIT} rev-parse --short=12 HEAD
      WORKING_DIRECTORY ${SOURCE_DIR}
      OUTPUT_VARIABLE head
      RESULT_VARIABLE status
      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(status EQUAL 0 AND head)
      set(REVISION ${head})
    endif()
  endif()
endif()
string(REPLACE "\\" "\\\\" REVISION "${REVISION}")
string(REPLACE "\"" "\\\"" REVISION "${REVISION}")

set(content "// Generated at build time by cmake/OctoberRevisionWrite.cmake.\n#pragma once\n#define OCTOBER_REVISION \"${REVISION}\"\n")
set(old "")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUTPUT} "${content}")
endif()
