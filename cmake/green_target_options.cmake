# green_target_options(<target>): the one place that sets warnings and
# sanitizer flags, so every library, test, example and benchmark is built alike.
function(green_target_options tgt)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra)
  if(GREEN_WARNINGS_AS_ERRORS)
    target_compile_options(${tgt} PRIVATE -Werror)
  endif()
endfunction()

# Sanitizers apply to the whole tree (a sanitized test linked against an
# unsanitized library misses reports), so they are set globally, once.
if(GREEN_SANITIZE)
  string(REPLACE "," ";" _green_san_list "${GREEN_SANITIZE}")
  foreach(_san IN LISTS _green_san_list)
    if(NOT _san MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "GREEN_SANITIZE: unknown sanitizer '${_san}' (use address, undefined, thread or leak)")
    endif()
  endforeach()
  add_compile_options(-fsanitize=${GREEN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GREEN_SANITIZE})
  if(GREEN_SANITIZE MATCHES "address")
    add_compile_definitions(GREEN_ASAN=1)
  endif()
  if(GREEN_SANITIZE MATCHES "thread")
    add_compile_definitions(GREEN_TSAN=1)
  endif()
endif()
