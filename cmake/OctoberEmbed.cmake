# october_embed_text(<target> HEADER <path under generated/> NAMESPACE <ns> FILES <files...>
#                    [LINE_COMMENT <prefix>])
# Compiles FILES into <target> as string_views in a header generated at build time
# (embed_text.cmake), so Lua scripts and the HTML page are edited as themselves and shipped
# inside the binary. The target includes the header as "<HEADER>".
set(OCTOBER_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake)

function(october_embed_text target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "HEADER;NAMESPACE;LINE_COMMENT" "FILES")
  set(output ${CMAKE_CURRENT_BINARY_DIR}/generated/${arg_HEADER})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} "-DFILES=${arg_FILES}"
            -DNAMESPACE=${arg_NAMESPACE} "-DLINE_COMMENT=${arg_LINE_COMMENT}"
            -P ${OCTOBER_EMBED_SCRIPT}
    DEPENDS ${arg_FILES} ${OCTOBER_EMBED_SCRIPT}
    COMMENT "Embedding ${arg_HEADER}"
    VERBATIM)
  target_sources(${target} PRIVATE ${output})
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
endfunction()
