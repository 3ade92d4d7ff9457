// green::value, what a switch carries (G3.2 packs switch arguments into
// one). It replaces std::any with the same interface, so these cases check
// the std::any contract (empty state, copies are independent, moved-from is
// empty, every object is destroyed exactly once) for each storage kind:
// trivially copyable inline, non-trivial inline, heap, over-aligned heap.

#define BOOST_TEST_MODULE greenlet_value
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"

using green::test::counted;

namespace {

// big_counted does not fit the 16-byte inline buffer: it lives on the heap.
struct big_counted {
  counted c;
  std::array<char, 64> pad{};
};

struct alignas(32) over_aligned {
  int v = 0;
};

// copy_bomb throws from its copy constructor once armed.
struct copy_bomb {
  static inline bool armed = false;
  int v = 0;
  copy_bomb() = default;
  explicit copy_bomb(int x) : v(x) {}
  copy_bomb(const copy_bomb& o) : v(o.v) {
    if (armed) throw std::runtime_error("copy_bomb copied");
  }
  copy_bomb(copy_bomb&&) noexcept = default;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(value, green::test::leak_check)

BOOST_AUTO_TEST_CASE(an_empty_value_holds_nothing_and_reports_void) {
  green::value v;
  BOOST_TEST(!v.has_value());
  BOOST_TEST((v.type() == typeid(void)));
  BOOST_TEST(v.get_if<int>() == nullptr);
  BOOST_CHECK_THROW(green::value_cast<int>(v), green::error);
}

BOOST_AUTO_TEST_CASE(an_int_is_read_back_and_a_wrong_type_is_a_green_error_naming_both) {
  green::value v = 42;
  BOOST_TEST(v.has_value());
  BOOST_TEST((v.type() == typeid(int)));
  BOOST_TEST(*v.get_if<int>() == 42);
  BOOST_TEST(v.get_if<long>() == nullptr);
  try {
    (void)green::value_cast<std::string>(v);
    BOOST_FAIL("value_cast to the wrong type did not throw");
  } catch (const green::error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("int") != std::string::npos, what);
    BOOST_TEST(what.find("std::__cxx11::basic_string") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(copies_of_each_storage_kind_are_independent_and_moves_empty_the_source) {
  // Inline and trivially copyable.
  green::value a = 7;
  green::value b = a;
  *b.get_if<int>() = 8;
  BOOST_TEST(*a.get_if<int>() == 7);
  green::value c = std::move(a);
  BOOST_TEST(!a.has_value());  // NOLINT(bugprone-use-after-move): moved-from is empty
  BOOST_TEST(*c.get_if<int>() == 7);

  // Inline, not trivially copyable: a shared_ptr counts its copies.
  auto sp = std::make_shared<int>(1);
  green::value s1 = sp;
  BOOST_TEST(sp.use_count() == 2);
  green::value s2 = s1;
  BOOST_TEST(sp.use_count() == 3);
  green::value s3 = std::move(s1);
  BOOST_TEST(sp.use_count() == 3);
  BOOST_TEST(!s1.has_value());  // NOLINT(bugprone-use-after-move)
  s2.reset();
  s3 = green::value();
  BOOST_TEST(sp.use_count() == 1);

  // Heap: a move hands over the same object.
  green::value h1 = std::string(100, 'x');
  const std::string* where = h1.get_if<std::string>();
  green::value h2 = h1;
  BOOST_TEST(h2.get_if<std::string>() != where);
  BOOST_TEST(*h2.get_if<std::string>() == std::string(100, 'x'));
  green::value h3 = std::move(h1);
  BOOST_TEST(h3.get_if<std::string>() == where);
  BOOST_TEST(!h1.has_value());  // NOLINT(bugprone-use-after-move)
}

BOOST_AUTO_TEST_CASE(every_object_is_destroyed_exactly_once_through_copy_move_assign_and_swap) {
  counted::reset();
  {
    green::value small = counted{};
    green::value big = big_counted{};
    green::value small2 = small;
    green::value big2 = big;
    green::value moved = std::move(small2);
    moved = std::move(big2);
    small.swap(big);
    big = small;
    big.emplace<counted>();
    small.emplace<big_counted>();
    green::value& alias = small;
    small = alias;  // self-assignment keeps the object
    BOOST_TEST(small.get_if<big_counted>() != nullptr);
  }
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(counted::constructed > 0);
}

BOOST_AUTO_TEST_CASE(an_over_aligned_object_is_stored_with_its_alignment) {
  green::value v = over_aligned{5};
  const over_aligned* p = v.get_if<over_aligned>();
  BOOST_REQUIRE(p != nullptr);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(p) % 32 == 0u);
  green::value w = v;
  BOOST_TEST(w.get_if<over_aligned>()->v == 5);
}

BOOST_AUTO_TEST_CASE(a_throwing_copy_assignment_leaves_the_target_unchanged) {
  copy_bomb::armed = false;
  green::value src = copy_bomb(1);
  green::value dst = 99;
  copy_bomb::armed = true;
  BOOST_CHECK_THROW(dst = src, std::runtime_error);
  copy_bomb::armed = false;
  BOOST_TEST(*dst.get_if<int>() == 99);
  BOOST_TEST(src.get_if<copy_bomb>()->v == 1);
}

BOOST_AUTO_TEST_CASE(a_switch_moves_its_payload_and_never_copies_it) {
  // G3.1: the payload of a switch is what the receiver's switch returns.
  auto sp = std::make_shared<int>(3);
  green::greenlet echo([&](green::value v) {
    BOOST_TEST(sp.use_count() == 2);  // ours and the one in flight
    return v;
  });
  green::value back = echo.switch_(std::shared_ptr<int>(sp));
  BOOST_TEST(back.get_if<std::shared_ptr<int>>()->get() == sp.get());
  BOOST_TEST(sp.use_count() == 2);

  green::greenlet keep([](green::value v) { return v; });
  green::value big = keep.switch_(std::vector<int>(1000, 1));
  BOOST_TEST(green::value_cast<std::vector<int>>(big).size() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
