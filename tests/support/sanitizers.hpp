// tests/support/sanitizers.hpp: what tests must know about the checkers
// they may run under.
//
// AddressSanitizer keeps freed memory in a quarantine and allocates shadow
// memory, so RSS and page-fault counts measure ASan, not green: footprint
// checks are skipped under it (as under valgrind). ThreadSanitizer maps
// shadow memory and a trace per fiber as it goes, so neither footprints nor
// counts of the process's mappings are green's under it, and it cannot
// create tens of thousands of fibers. A forked child that exits
// with suspended greenlets leaks their frames by design (G9.3), so
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

#if defined(__SANITIZE_THREAD__)
inline constexpr bool under_tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif
#else
inline constexpr bool under_tsan = false;
#endif

// footprint_checks_apply() is false where RSS and page faults are not green's.
inline bool footprint_checks_apply() { return !under_asan && !under_tsan && !RUNNING_ON_VALGRIND; }

// mapping_checks_apply() is false where the process's mappings are not
// green's alone (valgrind is checked separately: some checks hold under it).
inline constexpr bool mapping_checks_apply() { return !under_tsan; }

// many_fibers() is how many greenlets a "many alive at once" test creates:
// 10,000, or 1,000 under ThreadSanitizer (about 1 MiB of trace each).
inline constexpr int many_fibers() { return under_tsan ? 1000 : 10000; }

// Set in a forked child whose exit leaks by design; read by LeakSanitizer.
inline bool leaks_expected_at_exit = false;

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_SANITIZERS_HPP
