# green_install.cmake: install rules, the CMake package (find_package(green))
# and the pkg-config file. Included by the top-level CMakeLists.txt when
# GREEN_INSTALL is ON, after lib/ and adapters/ have defined their targets.
#
# Installed layout (prefix-relative, GNUInstallDirs):
#   include/green/*.hpp, include/green/detail/*.hpp (version.hpp generated)
#   lib/libgreen_core.{a,so}  (and libgreen_generator.* unless header-only)
#   lib/cmake/green/greenConfig.cmake, greenConfigVersion.cmake, greenTargets*.cmake
#   lib/pkgconfig/green.pc
#   share/green/gdb/green_gdb.py

include(CMakePackageConfigHelpers)

set(GREEN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/green"
    CACHE STRING "Where greenConfig.cmake is installed, relative to the prefix")

# The green libraries this build defines and green::green, which links them
# all: both come from the top-level CMakeLists.txt.
set(_green_libs ${GREEN_LIBRARIES})

install(TARGETS ${_green_libs} green
  EXPORT greenTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/green
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
# The generated one (lib/CMakeLists.txt), from project()'s version.
install(FILES ${PROJECT_BINARY_DIR}/include/green/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/green)

# The gdb extension (README "Debugging with gdb"). libgreen also carries it in
# its .debug_gdb_scripts section; this copy is for `source` and for binaries
# whose debug sections were stripped.
install(FILES ${PROJECT_SOURCE_DIR}/lib/gdb/green_gdb.py
  DESTINATION ${CMAKE_INSTALL_DATADIR}/green/gdb)

install(EXPORT greenTargets
  NAMESPACE green::
  FILE greenTargets.cmake
  DESTINATION ${GREEN_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/greenConfig.cmake.in
  ${PROJECT_BINARY_DIR}/greenConfig.cmake
  INSTALL_DESTINATION ${GREEN_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/greenConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/greenConfig.cmake
  ${PROJECT_BINARY_DIR}/greenConfigVersion.cmake
  DESTINATION ${GREEN_INSTALL_CMAKEDIR})

# pkg-config. The prefix is only known at install time (`cmake --install
# --prefix` may differ from CMAKE_INSTALL_PREFIX), so green.pc is configured by
# the install script, where @CMAKE_INSTALL_PREFIX@ is the real one. Libraries go
# dependents first; Boost.Context is needed on the link line when green_core is
# static, and only for `pkg-config --static` when it is shared.
set(_green_pc_libs "-L\${libdir}")
set(_green_link_order ${_green_libs})
list(REVERSE _green_link_order)
foreach(_green_lib IN LISTS _green_link_order)
  get_target_property(_green_type ${_green_lib} TYPE)
  if(NOT _green_type STREQUAL "INTERFACE_LIBRARY")
    string(APPEND _green_pc_libs " -l$<TARGET_FILE_BASE_NAME:${_green_lib}>")
  endif()
endforeach()
set(_green_type "")
if(TARGET green_core)
  get_target_property(_green_type green_core TYPE)
endif()
if(_green_type STREQUAL "STATIC_LIBRARY")
  string(APPEND _green_pc_libs " -lboost_context")
  set(_green_pc_libs_private "")
else()
  set(_green_pc_libs_private "-lboost_context")
endif()
foreach(_green_dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_green_dir}}")
    set(_green_pc_${_green_dir} "${CMAKE_INSTALL_${_green_dir}}")
  else()
    set(_green_pc_${_green_dir} "\${prefix}/${CMAKE_INSTALL_${_green_dir}}")
  endif()
endforeach()

install(CODE "
  set(GREEN_PC_DESCRIPTION [==[${PROJECT_DESCRIPTION}]==])
  set(GREEN_PC_VERSION [==[${PROJECT_VERSION}]==])
  set(GREEN_PC_LIBDIR [==[${_green_pc_LIBDIR}]==])
  set(GREEN_PC_INCLUDEDIR [==[${_green_pc_INCLUDEDIR}]==])
  set(GREEN_PC_LIBS [==[${_green_pc_libs}]==])
  set(GREEN_PC_LIBS_PRIVATE [==[${_green_pc_libs_private}]==])
  configure_file([==[${CMAKE_CURRENT_LIST_DIR}/green.pc.in]==] [==[${PROJECT_BINARY_DIR}/green.pc]==] @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/green.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
