# green_add_test(<stem> [LIBS lib...] [LABELS label...] [TIMEOUT s])
# One Boost.Test executable per feature file, one CTest test each, so a crash
# in one feature does not hide the others and `ctest -R <stem>` reruns it.
function(green_add_test stem)
  cmake_parse_arguments(T "" "TIMEOUT" "LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${stem} ${stem}.cpp)
  target_link_libraries(${stem} PRIVATE ${T_LIBS} Boost::unit_test_framework green_test_support)
  green_target_options(${stem})
  add_test(NAME ${stem} COMMAND ${stem} --log_level=test_suite --report_level=short)
  set_tests_properties(${stem} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()
