# check_layering.cmake: the include rules that keep green's layers apart,
# checked on the sources (CTest `layering`, label core):
#   * lib/backend/ (how a stack switch happens) sees the API only through
#     green/detail/switch.hpp (and green/config.hpp): the backend must build
#     and be tested without the greenlet API above it.
#   * no public header (include/green/**, the .in templates too) includes a
#     Boost header: users of green need no Boost headers, and no Boost type
#     reaches the API. The exceptions are the opt-in Asio-facing headers:
#     include/green/hub/asio.hpp (applications that pass their own
#     io_context) and include/green/hub/asio_stream.hpp (a socket as an Asio
#     SyncReadStream/SyncWriteStream, for Beast).
#
#   cmake -DSOURCE_DIR=<green source tree> -P cmake/check_layering.cmake
#
# Prints each offending include with its file and fails if there is one.

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "check_layering: pass -DSOURCE_DIR=<green source tree>")
endif()

set(_include_re "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
set(_violations "")

# _green_includes(<file> <out-var>): the headers <file> includes (#include
# lines only, quoted or bracketed, in file order).
function(_green_includes file out)
  file(STRINGS "${file}" _lines REGEX "${_include_re}")
  set(_headers "")
  foreach(_line IN LISTS _lines)
    string(REGEX MATCH "${_include_re}" _m "${_line}")
    list(APPEND _headers "${CMAKE_MATCH_1}")
  endforeach()
  set(${out} "${_headers}" PARENT_SCOPE)
endfunction()

file(GLOB _backend_files LIST_DIRECTORIES false "${SOURCE_DIR}/lib/backend/*")
if(NOT _backend_files)
  message(FATAL_ERROR "check_layering: no files in ${SOURCE_DIR}/lib/backend/ (wrong SOURCE_DIR?)")
endif()
foreach(_f IN LISTS _backend_files)
  file(RELATIVE_PATH _rel "${SOURCE_DIR}" "${_f}")
  _green_includes("${_f}" _headers)
  foreach(_h IN LISTS _headers)
    if(_h MATCHES "^green/" AND NOT _h MATCHES "^green/(detail/switch|config)\\.hpp$")
      list(APPEND _violations
        "${_rel} includes <${_h}>: lib/backend/ may include, of the public headers, only green/detail/switch.hpp and green/config.hpp")
    endif()
  endforeach()
endforeach()

file(GLOB_RECURSE _public_files LIST_DIRECTORIES false "${SOURCE_DIR}/include/green/*")
if(NOT _public_files)
  message(FATAL_ERROR "check_layering: no files in ${SOURCE_DIR}/include/green/ (wrong SOURCE_DIR?)")
endif()
foreach(_f IN LISTS _public_files)
  file(RELATIVE_PATH _rel "${SOURCE_DIR}" "${_f}")
  _green_includes("${_f}" _headers)
  foreach(_h IN LISTS _headers)
    if(_h MATCHES "^boost/" AND NOT _rel MATCHES "^include/green/hub/asio(_stream)?\\.hpp$")
      list(APPEND _violations
        "${_rel} includes <${_h}>: no public header may include a Boost header")
    endif()
  endforeach()
endforeach()

list(LENGTH _backend_files _n_backend)
list(LENGTH _public_files _n_public)
if(_violations)
  foreach(_v IN LISTS _violations)
    message("check_layering: ${_v}")
  endforeach()
  list(LENGTH _violations _n)
  message(FATAL_ERROR "check_layering: ${_n} layering violation(s)")
endif()
message(STATUS "check_layering: ${_n_backend} backend and ${_n_public} public files keep to the layers")
