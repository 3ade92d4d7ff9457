// Lifecycle flags and the greenlet handle: the started/dead/bool/is_main
// table (G7.1), the function attribute (G2.3), copies (G7.4), moved-from
// handles (G7.4), names and ids (G7.5).
//
// G7.6 (gr_frame) does not apply: greenlets run on separate stacks
// and C++ has no frame objects. G7.6 (_stack_saved) does not apply:
// green never copies stacks.
#define BOOST_TEST_MODULE greenlet_flags
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"

namespace {

// flags is one row of the state table of G7.1.
struct flags {
  bool started = false;
  bool dead = false;
  bool active = false;  // bool(g)
  bool is_main = false;
  bool operator==(const flags&) const = default;
};

std::ostream& operator<<(std::ostream& os, const flags& f) {
  return os << "{started=" << f.started << " dead=" << f.dead << " active=" << f.active
            << " is_main=" << f.is_main << "}";
}

flags flags_of(const green::greenlet& g) {
  return flags{g.started(), g.dead(), static_cast<bool>(g), g.is_main()};
}

constexpr flags kUnstarted{false, false, false, false};
constexpr flags kActive{true, false, true, false};
constexpr flags kDead{true, true, false, false};
constexpr flags kMain{true, false, true, true};

bool message_has(const green::error& e, const char* text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

int forty_two() { return 42; }

struct adder {
  int base;
  int operator()(int x) const { return base + x; }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_flags, green::test::leak_check)

// G7.1: an unstarted greenlet is false and not dead.
BOOST_AUTO_TEST_CASE(unstarted_greenlet_is_inactive_and_not_dead) {
  green::greenlet g([] {});
  BOOST_TEST(flags_of(g) == kUnstarted);
  green::greenlet no_function;
  BOOST_TEST(flags_of(no_function) == kUnstarted);
}

// G7.1: a running greenlet is true and not dead, seen from inside.
BOOST_AUTO_TEST_CASE(running_greenlet_is_active_and_not_dead) {
  flags from_current;
  flags from_handle;
  green::greenlet g;
  g.set_run([&] {
    from_current = flags_of(green::getcurrent());
    from_handle = flags_of(g);
  });
  g.switch_();
  BOOST_TEST(from_current == kActive);
  BOOST_TEST(from_handle == kActive);
}

// G7.1: a suspended greenlet is true and not dead.
BOOST_AUTO_TEST_CASE(suspended_greenlet_is_active_and_not_dead) {
  green::greenlet g([] { green::getcurrent().parent()->switch_(); });
  g.switch_();
  BOOST_TEST(flags_of(g) == kActive);
  g.switch_();
  BOOST_TEST(flags_of(g) == kDead);
}

// G7.1: a finished greenlet is false and dead, however it ended.
BOOST_AUTO_TEST_CASE(finished_greenlet_is_dead_after_return_raise_or_kill) {
  green::greenlet returned([] { return 1; });
  returned.switch_();
  BOOST_TEST(flags_of(returned) == kDead);

  green::greenlet raised([] { throw std::runtime_error("x"); });
  BOOST_CHECK_THROW(raised.switch_(), std::runtime_error);
  BOOST_TEST(flags_of(raised) == kDead);

  green::greenlet killed([] { green::getcurrent().parent()->switch_(); });
  killed.switch_();
  killed.throw_();
  BOOST_TEST(flags_of(killed) == kDead);

  green::greenlet killed_unstarted([] {});
  killed_unstarted.throw_();
  BOOST_TEST(flags_of(killed_unstarted) == kDead);
}

// G7.2: main is true, not dead, a main greenlet, with no
// parent, whether it runs or is suspended under a child.
BOOST_AUTO_TEST_CASE(main_greenlet_is_active_not_dead_and_has_no_parent) {
  const green::greenlet& main = green::getcurrent();
  BOOST_TEST(flags_of(main) == kMain);
  BOOST_TEST(!main.parent().has_value());

  flags main_seen_from_child;
  bool main_has_no_parent = false;
  bool child_is_main = true;
  green::greenlet g([&] {
    auto p = green::getcurrent().parent();
    main_seen_from_child = flags_of(*p);
    main_has_no_parent = !p->parent().has_value();
    child_is_main = green::getcurrent().is_main();
  });
  g.switch_();
  BOOST_TEST(main_seen_from_child == kMain);
  BOOST_TEST(main_has_no_parent);
  BOOST_TEST(!child_is_main);
}

// G7.3: getcurrent() returns the same greenlet every time, and inside a
// greenlet it is that greenlet.
BOOST_AUTO_TEST_CASE(getcurrent_returns_same_greenlet_each_time) {
  BOOST_TEST(&green::getcurrent() == &green::getcurrent());
  BOOST_TEST(&green::getcurrent() == &green::greenlet::current());
  bool same_inside = false;
  bool is_this_greenlet = false;
  green::greenlet g;
  g.set_run([&] {
    same_inside = &green::getcurrent() == &green::getcurrent();
    is_this_greenlet = green::getcurrent() == g;
  });
  g.switch_();
  BOOST_TEST(same_inside);
  BOOST_TEST(is_this_greenlet);
}

// G2.3: before the start the function can be read
// (has_run) and replaced; the replacement runs.
BOOST_AUTO_TEST_CASE(set_run_before_start_replaces_function) {
  std::vector<std::string> seen;
  green::greenlet g([&] { seen.push_back("original"); });
  BOOST_TEST(g.has_run());
  g.set_run([&](int x) {
    seen.push_back("replacement");
    return x * 2;
  });
  BOOST_TEST(g.has_run());
  BOOST_TEST(green::value_cast<int>(g.switch_(21)) == 42);
  BOOST_TEST(seen == (std::vector<std::string>{"replacement"}), boost::test_tools::per_element());
}

// G2.3: a greenlet created without a function gets one
// with set_run() and then runs it.
BOOST_AUTO_TEST_CASE(set_run_on_greenlet_without_function_makes_it_runnable) {
  green::greenlet g;
  BOOST_TEST(!g.has_run());
  BOOST_CHECK_EXCEPTION(g.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "no function"); });
  BOOST_TEST(flags_of(g) == kUnstarted);
  g.set_run(&forty_two);
  BOOST_TEST(g.has_run());
  BOOST_TEST(green::value_cast<int>(g.switch_()) == 42);
  BOOST_TEST(!g.has_run());
}

// G2.3: once started, the function cannot be set, while
// suspended and after death; the greenlet keeps running its own function.
BOOST_AUTO_TEST_CASE(set_run_after_start_raises_cannot_be_set_after_start) {
  int replacement_runs = 0;
  green::greenlet g([] {
    green::getcurrent().parent()->switch_();
    return 1;
  });
  g.switch_();
  BOOST_TEST(!g.has_run());
  BOOST_CHECK_EXCEPTION(
      g.set_run([&] { ++replacement_runs; }), green::error,
      [](const green::error& e) { return message_has(e, "cannot be set after the start"); });
  BOOST_TEST(green::value_cast<int>(g.switch_()) == 1);
  BOOST_TEST(!g.has_run());
  BOOST_CHECK_EXCEPTION(
      g.set_run([&] { ++replacement_runs; }), green::error,
      [](const green::error& e) { return message_has(e, "cannot be set after the start"); });
  BOOST_TEST(replacement_runs == 0);
  BOOST_TEST(flags_of(g) == kDead);
}

// G2.3 (test_running_greenlet_has_no_run): a running greenlet cannot
// see its own function, and cannot replace it.
BOOST_AUTO_TEST_CASE(running_greenlet_has_no_run_and_cannot_set_it) {
  bool has_run_inside = true;
  bool set_run_failed = false;
  green::greenlet g([&] {
    green::greenlet me = green::getcurrent();
    has_run_inside = me.has_run();
    try {
      me.set_run([] {});
    } catch (const green::error&) {
      set_run_failed = true;
    }
  });
  g.switch_();
  BOOST_TEST(!has_run_inside);
  BOOST_TEST(set_run_failed);
  BOOST_TEST(g.dead());
}

// G2.3 (Python: Main greenlets do not have a run attribute).
BOOST_AUTO_TEST_CASE(main_greenlet_has_no_run_and_cannot_set_it) {
  green::greenlet main = green::getcurrent();
  BOOST_TEST(!main.has_run());
  BOOST_CHECK_EXCEPTION(main.set_run([] {}), green::error,
                        [](const green::error& e) { return message_has(e, "main greenlet"); });
  BOOST_TEST(flags_of(main) == kMain);
}

// G2.3 (Python `g.run = other`): the replaced function is released at once.
BOOST_AUTO_TEST_CASE(set_run_before_start_releases_replaced_function) {
  green::test::counted::reset();
  {
    green::greenlet g([c = green::test::counted{}] {});
    BOOST_TEST(green::test::counted::alive() == 1);
    g.set_run([] {});
    BOOST_TEST(green::test::counted::alive() == 0);
  }
  BOOST_TEST(green::test::counted::alive() == 0);
}

// G2.8: when a greenlet dies its function is released, even while
// handles to the greenlet remain.
BOOST_AUTO_TEST_CASE(finished_greenlet_releases_its_function) {
  green::test::counted::reset();
  green::greenlet g([c = green::test::counted{}] { return 1; });
  BOOST_TEST(green::test::counted::alive() == 1);
  g.switch_();
  BOOST_TEST(g.dead());
  BOOST_TEST(green::test::counted::alive() == 0);
}

// G2.8 and G5.4: a greenlet killed before it started dies too, so its
// function is released although it never ran.
BOOST_AUTO_TEST_CASE(greenlet_killed_before_start_releases_its_function) {
  green::test::counted::reset();
  int runs = 0;
  green::greenlet g([c = green::test::counted{}, &runs] { ++runs; });
  BOOST_TEST(green::test::counted::alive() == 1);
  green::value r = g.throw_();
  BOOST_TEST(r.get_if<green::greenlet_exit>() != nullptr);
  BOOST_TEST(runs == 0);
  BOOST_TEST(g.dead());
  BOOST_TEST(green::test::counted::alive() == 0);
}

// Construction: an lvalue function object is copied; the greenlet runs the
// copy, the original stays usable.
BOOST_AUTO_TEST_CASE(construct_from_lvalue_function_object_copies_it) {
  adder add{40};
  green::greenlet g(add);
  add.base = 0;
  BOOST_TEST(green::value_cast<int>(g.switch_(2)) == 42);
  BOOST_TEST(add(2) == 2);

  const auto lambda = [](int x) { return x + 1; };
  green::greenlet h(lambda);
  BOOST_TEST(green::value_cast<int>(h.switch_(41)) == 42);
}

// Construction (Python: greenlet(run=some_function)): a function, by name
// or by pointer, is a greenlet's function.
BOOST_AUTO_TEST_CASE(construct_from_function_runs_that_function) {
  green::greenlet by_name(forty_two);
  BOOST_TEST(green::value_cast<int>(by_name.switch_()) == 42);
  green::greenlet by_pointer(&forty_two);
  BOOST_TEST(green::value_cast<int>(by_pointer.switch_()) == 42);
  std::function<int()> wrapped = forty_two;
  green::greenlet by_std_function(wrapped);
  BOOST_TEST(green::value_cast<int>(by_std_function.switch_()) == 42);
}

// G7.4 (test_copy: Python refuses copy.copy): in C++ a greenlet is a
// handle, so a copy is the same greenlet, never a second one.
BOOST_AUTO_TEST_CASE(copied_handle_refers_to_the_same_greenlet) {
  int runs = 0;
  green::greenlet g([&] {
    ++runs;
    int v = green::value_cast<int>(green::getcurrent().parent()->switch_(1));
    return v + 1;
  });
  green::greenlet copy = g;
  BOOST_TEST((copy == g));
  BOOST_TEST(copy.id() == g.id());
  BOOST_TEST(std::hash<green::greenlet>{}(copy) == std::hash<green::greenlet>{}(g));
  BOOST_TEST(flags_of(copy) == kUnstarted);

  BOOST_TEST(green::value_cast<int>(copy.switch_()) == 1);  // starts g
  BOOST_TEST(flags_of(g) == kActive);
  BOOST_TEST(green::value_cast<int>(g.switch_(41)) == 42);  // resumes what copy started
  BOOST_TEST(runs == 1);
  BOOST_TEST(flags_of(copy) == kDead);

  green::greenlet assigned([] {});
  assigned = g;
  BOOST_TEST((assigned == g));
  BOOST_TEST(assigned.dead());
  const green::greenlet& same = assigned;  // through a reference: clang flags `x = x`
  assigned = same;                         // self-assignment keeps the handle valid
  BOOST_TEST((assigned == g));
}

// G7.4: handles compare and hash by identity, so containers see one
// greenlet however many copies are inserted.
BOOST_AUTO_TEST_CASE(copies_compare_equal_and_distinct_greenlets_differ) {
  green::greenlet a([] {});
  green::greenlet b([] {});
  std::unordered_set<green::greenlet> set{a, a, green::greenlet(a)};
  BOOST_TEST(set.size() == 1u);
  set.insert(b);
  BOOST_TEST(set.size() == 2u);
  BOOST_TEST(!(a == b));
}

// A copy keeps the greenlet alive: dropping the other handle does not kill
// a suspended greenlet while a copy exists.
BOOST_AUTO_TEST_CASE(dropping_one_handle_keeps_suspended_greenlet_alive_through_copy) {
  bool killed = false;
  std::optional<green::greenlet> original;
  original.emplace([&] {
    try {
      return green::value_cast<int>(green::getcurrent().parent()->switch_()) + 1;
    } catch (const green::greenlet_exit&) {
      killed = true;
      throw;
    }
  });
  original->switch_();
  green::greenlet copy = *original;
  original.reset();
  BOOST_TEST(!killed);
  BOOST_TEST(flags_of(copy) == kActive);
  BOOST_TEST(green::value_cast<int>(copy.switch_(1)) == 2);
  BOOST_TEST(!killed);
}

// A moved-to handle is the greenlet; the moved-from handle is empty.
BOOST_AUTO_TEST_CASE(moved_handle_transfers_the_greenlet) {
  green::greenlet a([](int x) { return x + 1; });
  const std::uint64_t id = a.id();
  green::greenlet b = std::move(a);
  BOOST_TEST(b.id() == id);
  BOOST_TEST(green::value_cast<int>(b.switch_(1)) == 2);

  green::greenlet c([] {});
  c = std::move(b);
  BOOST_TEST(c.id() == id);
  BOOST_TEST(c.dead());
}

// A moved-from handle reports no state and throws green::error on every use.
BOOST_AUTO_TEST_CASE(moved_from_handle_throws_error_on_use) {
  green::greenlet a([] {});
  green::greenlet b = std::move(a);
  BOOST_TEST(flags_of(a) == kUnstarted);
  BOOST_TEST(a.id() == 0u);
  BOOST_TEST(!(a == b));
  BOOST_CHECK_THROW(a.switch_(), green::error);
  BOOST_CHECK_THROW(a.switch_(1, 2), green::error);
  BOOST_CHECK_THROW(a.switch_value(green::value{}), green::error);
  BOOST_CHECK_THROW(a.throw_(), green::error);
  BOOST_CHECK_THROW(a.throw_(std::runtime_error("x")), green::error);
  BOOST_CHECK_THROW(a.parent(), green::error);
  BOOST_CHECK_THROW(a.set_parent(b), green::error);
  BOOST_CHECK_THROW(a.set_run([] {}), green::error);
  BOOST_CHECK_THROW(a.has_run(), green::error);
  BOOST_CHECK_THROW(a.set_name("x"), green::error);
  BOOST_CHECK_THROW(a.name(), green::error);
  BOOST_CHECK_EXCEPTION(a.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "empty"); });
  // The greenlet it referred to is untouched and still runs.
  BOOST_TEST(flags_of(b) == kUnstarted);
  b.switch_();
  BOOST_TEST(b.dead());
}

// A moved-from handle can be assigned again and is then usable.
BOOST_AUTO_TEST_CASE(moved_from_handle_assigned_again_is_usable) {
  green::greenlet a([] {});
  green::greenlet b = std::move(a);
  a = green::greenlet([] { return 7; });
  BOOST_TEST(green::value_cast<int>(a.switch_()) == 7);
  green::greenlet c = std::move(b);
  a = c;
  BOOST_TEST((a == c));
  green::greenlet& self_ref = a;  // through a reference: clang flags `x = std::move(x)`
  a = std::move(self_ref);        // self-move keeps the handle
  BOOST_TEST((a == c));
}

// ids are non-zero, unique per greenlet and stable over its life.
BOOST_AUTO_TEST_CASE(greenlet_ids_are_unique_and_stable) {
  std::uint64_t id_inside = 0;
  green::greenlet a([&] { id_inside = green::getcurrent().id(); });
  green::greenlet b([] {});
  green::greenlet c;
  const std::set<std::uint64_t> ids{a.id(), b.id(), c.id(), green::getcurrent().id()};
  BOOST_TEST(ids.size() == 4u);
  BOOST_TEST(ids.count(0) == 0u);
  const std::uint64_t before = a.id();
  a.switch_();
  BOOST_TEST(id_inside == before);
  BOOST_TEST(a.id() == before);
  BOOST_TEST(green::getcurrent().id() == green::getcurrent().id());
}

// Names: empty by default, kept as set, visible from inside, truncated to 31 bytes.
BOOST_AUTO_TEST_CASE(set_name_is_kept_and_truncated_to_31_bytes) {
  std::string name_inside;
  green::greenlet g([&] { name_inside = green::getcurrent().name(); });
  BOOST_TEST(g.name().empty());
  g.set_name("worker");
  BOOST_TEST(g.name() == "worker");
  g.switch_();
  BOOST_TEST(name_inside == "worker");
  BOOST_TEST(g.name() == "worker");  // kept after death

  const std::string long_name(40, 'n');
  green::greenlet h([] {});
  h.set_name(long_name);
  BOOST_TEST(h.name() == long_name.substr(0, 31));
  h.set_name("");
  BOOST_TEST(h.name().empty());
}

BOOST_AUTO_TEST_SUITE_END()
