// tests/support/sanitizers.hpp: what tests must know about the checkers
// they may run under.
//
// AddressSanitizer keeps freed memory in a quarantine and allocates shadow
// memory, so RSS and page-fault counts measure ASan, not green: footprint
// checks are skipped under it (as under valgrind). A forked child that exits
// with suspended greenlets leaks their frames by design (spec 1.13), so
// LeakSanitizer's exit-time check is turned off in such a child only.

#ifndef GREEN_TESTS_SUPPORT_SANITIZERS_HPP
#define GREEN_TESTS_SUPPORT_SANITIZERS_HPP

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_CLO_CHANGE(option)
#endif

namespace green::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif

// footprint_checks_apply() is false where RSS and page faults are not green's.
inline bool footprint_checks_apply() { return !under_asan && !RUNNING_ON_VALGRIND; }

// Set in a forked child whose exit leaks by design; read by LeakSanitizer.
inline bool leaks_expected_at_exit = false;

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_SANITIZERS_HPP
