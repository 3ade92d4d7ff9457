// green/debug.hpp
//
// Introspection for tests and diagnostics: how many greenlets exist. Every
// test in green's suite checks that this number is the same before and after
// it ran, so a leaked greenlet (and the stack it pins) fails the test.
//
//   std::size_t before = green::debug::live_greenlets();
//   run_workload();
//   assert(green::debug::live_greenlets() == before);

#ifndef GREEN_DEBUG_HPP
#define GREEN_DEBUG_HPP

#include <cstddef>

#include "green/config.hpp"

namespace green::debug {

// live_greenlets() counts greenlets (not main greenlets) that exist in the
// process: created and not yet freed, whatever their state.
GREEN_API std::size_t live_greenlets() noexcept;

}  // namespace green::debug

#endif  // GREEN_DEBUG_HPP
