// Greenlet-local storage: docs/semantics.md H10, following gevent's
// src/gevent/tests/test__local.py (a value per greenlet, __init__ re-run
// with the original arguments in each greenlet, data released when the
// greenlet dies).
#define BOOST_TEST_MODULE hub_local
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

namespace {
// Counts constructions and live instances, and records the arguments.
struct tracked {
  static inline std::atomic<int> made{0};
  static inline std::atomic<int> alive{0};
  std::string name;
  int n;
  tracked(std::string s, int k) : name(std::move(s)), n(k) {
    ++made;
    ++alive;
  }
  tracked(const tracked&) = delete;
  ~tracked() { --alive; }
};
struct reset_counts {
  reset_counts() {
    tracked::made = 0;
    tracked::alive = 0;
  }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_local, green::test::hub_check)

// H10.1, test__local.py: each greenlet sees its own value; a child does not
// see its spawner's.
BOOST_AUTO_TEST_CASE(each_greenlet_sees_its_own_value) {
  green::local<int> v(0);
  *v = 1;
  int child_saw = -1;
  auto t = green::spawn([&] {
    child_saw = *v;
    *v = 2;
    green::sleep();
    BOOST_CHECK_EQUAL(*v, 2);
  });
  t.join();
  BOOST_CHECK_EQUAL(child_saw, 0);
  BOOST_CHECK_EQUAL(*v, 1);
  // A raw greenlet too.
  green::greenlet g([&] { return *v; });
  BOOST_CHECK_EQUAL(green::value_cast<int>(g.switch_()), 0);
}

// H10.1, test__local.py (subclass __init__ with args runs in each greenlet):
// the value is built lazily from the original arguments, once per greenlet.
BOOST_AUTO_TEST_CASE(the_value_is_built_lazily_from_the_original_arguments) {
  reset_counts r;
  std::string name = "seed";
  green::local<tracked> v(name, 7);
  name = "changed";
  BOOST_CHECK_EQUAL(tracked::made.load(), 0);
  BOOST_CHECK(!v.has_value());
  BOOST_CHECK_EQUAL(v->name, "seed");
  BOOST_CHECK(v.has_value());
  v->n = 99;
  BOOST_CHECK_EQUAL(tracked::made.load(), 1);
  std::vector<green::task_base> ts;
  for (int i = 0; i < 3; ++i)
    ts.push_back(green::spawn([&] {
      BOOST_CHECK_EQUAL(v->n, 7);
      BOOST_CHECK_EQUAL(v->name, "seed");
    }));
  green::joinall(ts);
  BOOST_CHECK_EQUAL(tracked::made.load(), 4);
  BOOST_CHECK_EQUAL(v->n, 99);
}

// H10.2, test__local.py: a spawned task's value is destroyed when it dies,
// also when it dies by a kill, even while handles to it remain.
BOOST_AUTO_TEST_CASE(a_tasks_value_is_destroyed_when_the_task_dies) {
  reset_counts r;
  green::local<tracked> v("x", 1);
  auto normal = green::spawn([&] {
    v->n = 2;
    green::sleep();
  });
  auto killed = green::spawn([&] {
    v->n = 3;
    green::sleep(100s);
  });
  green::sleep();
  BOOST_CHECK_EQUAL(tracked::alive.load(), 2);
  killed.kill();
  normal.join();
  BOOST_CHECK(normal.ready() && killed.ready());
  BOOST_CHECK_EQUAL(tracked::alive.load(), 0);  // the handles are still here
  BOOST_CHECK_EQUAL(tracked::made.load(), 2);
}

// H10.2: destroying the local first destroys every greenlet's value; the
// greenlets that used it die later without touching it.
BOOST_AUTO_TEST_CASE(destroying_the_local_first_destroys_every_value) {
  reset_counts r;
  auto v = std::make_unique<green::local<tracked>>("x", 1);
  green::event go;
  auto t = green::spawn([&] {
    (*v)->n = 5;
    go.wait();
  });
  green::sleep();
  (*v)->n = 6;
  BOOST_CHECK_EQUAL(tracked::alive.load(), 2);
  v.reset();
  BOOST_CHECK_EQUAL(tracked::alive.load(), 0);
  go.set();
  t.join();
  BOOST_CHECK_EQUAL(tracked::alive.load(), 0);
}

// reset() drops the current greenlet's value; the next access rebuilds it.
BOOST_AUTO_TEST_CASE(reset_destroys_the_value_and_the_next_access_rebuilds_it) {
  reset_counts r;
  green::local<tracked> v("x", 1);
  v->n = 4;
  v.reset();
  BOOST_CHECK_EQUAL(tracked::alive.load(), 0);
  BOOST_CHECK_EQUAL(v->n, 1);
  BOOST_CHECK_EQUAL(tracked::made.load(), 2);
  v.reset();
  v.reset();  // nothing to drop
}

// H10.1: keyed by the greenlet, not by its context: sharing a context does
// not share the value (unlike context_var).
BOOST_AUTO_TEST_CASE(greenlets_sharing_a_context_still_have_their_own_values) {
  green::local<int> v(0);
  green::context_var<int> cv("cv", 0);
  cv.set(1);
  *v = 1;
  green::greenlet g([&] { return std::make_tuple(cv.get(), *v); });
  g.set_gr_context(green::getcurrent().gr_context());
  auto [c, l] = green::value_cast<std::tuple<int, int>>(g.switch_());
  BOOST_CHECK_EQUAL(c, 1);
  BOOST_CHECK_EQUAL(l, 0);
}

// H10.3: a local used on two threads gives each greenlet its own value; a
// thread's values are destroyed when it exits.
BOOST_AUTO_TEST_CASE(a_local_used_on_two_threads_keeps_one_value_per_greenlet) {
  reset_counts r;
  green::local<tracked> v("x", 0);
  std::atomic<int> mismatches{0};
  auto work = [&](int base) {
    std::vector<green::task_base> ts;
    for (int i = 0; i < 20; ++i)
      ts.push_back(green::spawn([&, i] {
        v->n = base + i;
        green::sleep();
        if (v->n != base + i) ++mismatches;
      }));
    v->n = base;
    green::joinall(ts);
    if (v->n != base) ++mismatches;
  };
  std::thread other([&] {
    work(1000);
    green::destroy_hub();
  });
  work(0);
  other.join();
  BOOST_CHECK_EQUAL(mismatches.load(), 0);
  BOOST_CHECK_EQUAL(tracked::made.load(), 42);
  BOOST_CHECK_EQUAL(tracked::alive.load(), 1);  // main's: the other thread's went with it
}

BOOST_AUTO_TEST_SUITE_END()
