# Writes OUTPUT, a header holding each of FILES as a string_view named after the file
# (fetch.lua: kFetch, dead_letter.lua: kDeadLetter, page.html: kPage) in namespace NAMESPACE, so
# the files are edited in their own language and compiled into the binary. LINE_COMMENT (optional,
# "--" for Lua) is how a comment line starts: a file of comments alone is refused, as it would
# load and do nothing. Run at build time (see october_embed_text in OctoberEmbed.cmake):
#   cmake -DOUTPUT=<header> -DFILES=<a;b> -DNAMESPACE=<ns> [-DLINE_COMMENT=<prefix>] -P <this>
set(text "#pragma once\n// Generated at build time by cmake/embed_text.cmake: edit the embedded files.\n")
string(APPEND text "#include <string_view>\n\nnamespace ${NAMESPACE} {\n")
foreach(file IN LISTS FILES)
  file(READ ${file} body)
  if(body MATCHES "\\)embed\"")
    message(FATAL_ERROR "${file} holds the raw-string delimiter )embed\"")
  endif()
  set(code "${body}")
  if(DEFINED LINE_COMMENT AND NOT LINE_COMMENT STREQUAL "")
    string(REGEX REPLACE "(^|\n)${LINE_COMMENT}[^\n]*" "" code "${body}")
  endif()
  string(STRIP "${code}" code)
  if(code STREQUAL "")
    message(FATAL_ERROR "${file} holds no code")
  endif()
  get_filename_component(stem ${file} NAME_WE)
  string(REPLACE "_" ";" words ${stem})
  set(name "k")
  foreach(word IN LISTS words)
    string(SUBSTRING ${word} 0 1 first)
    string(SUBSTRING ${word} 1 -1 rest)
    string(TOUPPER ${first} first)
    string(APPEND name "${first}${rest}")
  endforeach()
  string(APPEND text "\ninline constexpr std::string_view ${name} = R\"embed(${body})embed\";\n")
endforeach()
string(APPEND text "\n}  // namespace ${NAMESPACE}\n")
file(WRITE ${OUTPUT} "${text}")
