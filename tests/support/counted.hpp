// tests/support/counted.hpp: an object that counts its constructions and
// destructions, to prove that destructors ran exactly once on killed or
// closed stacks (cppcoro's test/counted.hpp idea).

#ifndef GREEN_TESTS_SUPPORT_COUNTED_HPP
#define GREEN_TESTS_SUPPORT_COUNTED_HPP

namespace green::test {

struct counted {
  static inline int constructed = 0;
  static inline int destroyed = 0;
  static void reset() { constructed = destroyed = 0; }
  static int alive() { return constructed - destroyed; }

  counted() { ++constructed; }
  counted(const counted&) { ++constructed; }
  counted(counted&&) noexcept { ++constructed; }
  counted& operator=(const counted&) = default;
  ~counted() { ++destroyed; }
};

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_COUNTED_HPP
