# register.cmake: adds the `package_consumer` test. include()d from
# tests/CMakeLists.txt. The test installs this build tree into a scratch prefix
# under the build dir and builds tests/package/ against it, via find_package
# and via pkg-config (package_test.cmake). It runs cmake and the compiler, so it
# is useless under valgrind (label no_valgrind) and needs install rules.
if(GREEN_INSTALL)
  add_test(NAME package_consumer
    COMMAND ${CMAKE_COMMAND}
      -DGREEN_BUILD_DIR=${PROJECT_BINARY_DIR}
      -DSCRATCH_DIR=${CMAKE_CURRENT_BINARY_DIR}/package_consumer
      -DCXX=${CMAKE_CXX_COMPILER}
      "-DGENERATOR=${CMAKE_GENERATOR}"
      -DBUILD_TYPE=$<CONFIG>
      -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
      -DSANITIZE=${GREEN_SANITIZE}
      -P ${CMAKE_CURRENT_LIST_DIR}/package_test.cmake)
  set_tests_properties(package_consumer PROPERTIES LABELS "core;no_valgrind" TIMEOUT 300)
endif()
