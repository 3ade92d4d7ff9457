# package_test.cmake: proves the installed green package works for a consumer,
# both through find_package(green) and through pkg-config. Run by CTest as
#   cmake -DGREEN_BUILD_DIR=<green build> -DSCRATCH_DIR=<empty-able dir> [...] -P package_test.cmake
# (see register.cmake). Any failing step ends the script with FATAL_ERROR.
#
# Inputs:
#   GREEN_BUILD_DIR  the already-built green tree to install (required)
#   SCRATCH_DIR      work area, wiped first (required)
#   CXX              C++ compiler of the green build (default: c++)
#   GENERATOR        CMake generator for the consumer (default: Unix Makefiles)
#   BUILD_TYPE       CMAKE_BUILD_TYPE / --config of the green build (optional)
#   LIBDIR           CMAKE_INSTALL_LIBDIR of the green build (default: lib)
#   SANITIZE         GREEN_SANITIZE of the green build; the consumer must be
#                    compiled and linked with the same -fsanitize= (optional)
cmake_minimum_required(VERSION 3.25)

foreach(_var IN ITEMS GREEN_BUILD_DIR SCRATCH_DIR)
  if(NOT ${_var})
    message(FATAL_ERROR "package_test: -D${_var}=... is required")
  endif()
endforeach()
if(NOT CXX)
  set(CXX c++)
endif()
if(NOT GENERATOR)
  set(GENERATOR "Unix Makefiles")
endif()
if(NOT LIBDIR)
  set(LIBDIR lib)
endif()
set(_config_args "")
if(BUILD_TYPE)
  set(_config_args --config ${BUILD_TYPE})
endif()
set(_san_flags "")
if(SANITIZE)
  set(_san_flags "-fsanitize=${SANITIZE}")
endif()

set(_src ${CMAKE_CURRENT_LIST_DIR})
set(_prefix ${SCRATCH_DIR}/prefix)
set(_cmake_build ${SCRATCH_DIR}/cmake-consumer)
set(_pc_build ${SCRATCH_DIR}/pkgconfig-consumer)
set(_expected "package consumer: 41")

# _run(<step> <command>...): runs a command, its output going to the test log;
# a non-zero exit fails the script, naming the step.
function(_run step)
  message(STATUS "package_test: ${step}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package_test: ${step} failed (${rc})")
  endif()
endfunction()

# _run_consumer(<step> <command>...): runs a consumer program and checks it
# succeeds and prints the expected line.
function(_run_consumer step)
  message(STATUS "package_test: ${step}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${out}${err}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "${_expected}")
    message(FATAL_ERROR "package_test: ${step} failed (${rc}), expected \"${_expected}\"")
  endif()
endfunction()

file(REMOVE_RECURSE ${SCRATCH_DIR})
file(MAKE_DIRECTORY ${SCRATCH_DIR} ${_pc_build})

_run("install green into ${_prefix}"
  ${CMAKE_COMMAND} --install ${GREEN_BUILD_DIR} --prefix ${_prefix} ${_config_args})

# 1. CMake consumer: find_package(green CONFIG REQUIRED) + green::core.
#    The package registry and system prefixes must not supply another green.
_run("configure the CMake consumer"
  ${CMAKE_COMMAND} -S ${_src} -B ${_cmake_build} -G ${GENERATOR}
  -DCMAKE_CXX_COMPILER=${CXX}
  -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
  -DCMAKE_PREFIX_PATH=${_prefix}
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  "-DCMAKE_CXX_FLAGS=${_san_flags}"
  "-DCMAKE_EXE_LINKER_FLAGS=${_san_flags}")
file(STRINGS ${_cmake_build}/CMakeCache.txt _green_dir REGEX "^green_DIR:")
string(REGEX REPLACE "^green_DIR:[A-Z]+=" "" _green_dir "${_green_dir}")
file(REAL_PATH "${_green_dir}" _green_dir)
file(REAL_PATH "${_prefix}" _real_prefix)
string(FIND "${_green_dir}/" "${_real_prefix}/" _at)
if(NOT _at EQUAL 0)
  message(FATAL_ERROR "package_test: find_package(green) used ${_green_dir}, not the package in ${_prefix}")
endif()
_run("build the CMake consumer" ${CMAKE_COMMAND} --build ${_cmake_build} ${_config_args})
set(_cmake_app ${_cmake_build}/app)
if(NOT EXISTS ${_cmake_app})
  set(_cmake_app ${_cmake_build}/${BUILD_TYPE}/app)  # multi-config generators
endif()
_run_consumer("run the CMake consumer" ${_cmake_app})
set(_hub_app ${_cmake_build}/app_hub)
if(NOT EXISTS ${_hub_app})
  set(_hub_app ${_cmake_build}/${BUILD_TYPE}/app_hub)
endif()
_run("run the CMake hub consumer" ${_hub_app})

# 2. pkg-config consumer: c++ -std=c++20 main.cpp $(pkg-config --cflags --libs green).
find_program(_pkg_config pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${_prefix}/${LIBDIR}/pkgconfig)
execute_process(COMMAND ${_pkg_config} --print-errors --cflags --libs green
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "package_test: pkg-config --cflags --libs green failed (${_rc}); PKG_CONFIG_PATH=$ENV{PKG_CONFIG_PATH}")
endif()
message(STATUS "package_test: pkg-config --cflags --libs green: ${_pc_flags}")
separate_arguments(_pc_flags UNIX_COMMAND "${_pc_flags}")
separate_arguments(_san_list UNIX_COMMAND "${_san_flags}")
_run("build the pkg-config consumer"
  ${CXX} -std=c++20 ${_san_list} ${_src}/main.cpp ${_pc_flags} -o ${_pc_build}/app)
# A shared libgreen_core has no rpath here: point the loader at the prefix.
set(_ld_path "${_prefix}/${LIBDIR}")
if(DEFINED ENV{LD_LIBRARY_PATH} AND NOT "$ENV{LD_LIBRARY_PATH}" STREQUAL "")
  string(APPEND _ld_path ":$ENV{LD_LIBRARY_PATH}")
endif()
_run_consumer("run the pkg-config consumer"
  ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${_ld_path}" ${_pc_build}/app)

message(STATUS "package_test: find_package and pkg-config consumers passed")
