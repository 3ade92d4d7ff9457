// run_info(): docs/semantics.md H12.4, following gevent's
// gevent.util.format_run_info() and GreenletTree (src/gevent/tests/
// test__util.py, TestTree: the tree lists the greenlets under their parents,
// with where each was spawned).
#define BOOST_TEST_MODULE hub_run_info
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

namespace {

const green::greenlet_info* find(const std::vector<green::greenlet_info>& all, std::uint64_t id) {
  for (const auto& i : all)
    if (i.id == id) return &i;
  return nullptr;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_run_info, green::test::hub_check)

// H12.4: main, the hub and each task, with what each is doing.
BOOST_AUTO_TEST_CASE(run_info_lists_main_the_hub_and_each_task_with_its_state) {
  green::event e;
  auto sleeper = green::spawn([] { green::sleep(1h); });
  auto waiter = green::spawn([&] { e.wait(); });
  auto joiner = green::spawn([&] { sleeper.join(); });
  joiner.set_name("joiner");
  green::sleep();
  auto fresh = green::spawn([] {});
  const auto all = green::run_info_entries();
  BOOST_REQUIRE_EQUAL(all.size(), 6u);
  BOOST_CHECK(all[0].role == green::greenlet_info::kind::main);
  BOOST_CHECK_EQUAL(all[0].name, "main");
  BOOST_CHECK_EQUAL(all[0].state, "running");
  BOOST_CHECK(all[1].role == green::greenlet_info::kind::hub);
  BOOST_CHECK_EQUAL(all[1].id, green::get_hub().hub_greenlet().id());
  BOOST_CHECK(starts_with(all[1].state, "in its loop"));
  BOOST_CHECK_EQUAL(all[1].parent_id, green::getmain().id());

  const auto* s = find(all, sleeper.greenlet_().id());
  BOOST_REQUIRE(s != nullptr);
  BOOST_CHECK_EQUAL(s->state, "blocked on sleep");
  BOOST_CHECK_EQUAL(s->parent_id, all[1].id);
  BOOST_CHECK(s->spawned_at.find("hub_run_info_test.cpp:") != std::string::npos);
  const auto* w = find(all, waiter.greenlet_().id());
  BOOST_REQUIRE(w != nullptr);
  BOOST_CHECK(starts_with(w->state, "blocked on event 0x"));
  const auto* j = find(all, joiner.greenlet_().id());
  BOOST_REQUIRE(j != nullptr);
  BOOST_CHECK_EQUAL(j->name, "joiner");
  BOOST_CHECK_EQUAL(j->state, "blocked on join of task #" + std::to_string(sleeper.id()) + " '" +
                                  sleeper.name() + "'");
  const auto* f = find(all, fresh.greenlet_().id());
  BOOST_REQUIRE(f != nullptr);
  BOOST_CHECK_EQUAL(f->state, "unstarted");

  sleeper.kill();
  e.set();
  green::joinall({waiter, joiner, fresh});
}

// H12.4: seen from a task, that task runs and main waits in the hub; a
// greenlet whose wake-up is queued is runnable.
BOOST_AUTO_TEST_CASE(run_info_from_a_task_shows_it_running_and_main_blocked) {
  std::vector<green::greenlet_info> seen;
  auto t = green::spawn([&] { seen = green::run_info_entries(); });
  t.join();
  BOOST_REQUIRE_GE(seen.size(), 3u);
  BOOST_CHECK_EQUAL(seen[0].state,
                    "blocked on join of task #" + std::to_string(t.id()) + " '" + t.name() + "'");
  const auto* me = find(seen, t.greenlet_().id());
  BOOST_REQUIRE(me != nullptr);
  BOOST_CHECK_EQUAL(me->state, "running");

  auto yielder = green::spawn([] { green::sleep(); });
  green::sleep();  // it starts and yields: queued behind main
  const auto all = green::run_info_entries();
  const auto* y = find(all, yielder.greenlet_().id());
  BOOST_REQUIRE(y != nullptr);
  BOOST_CHECK_EQUAL(y->state, "runnable (woken from sleep(0))");
  yielder.join();
}

// H12.4: the text is a tree: main, the hub under it, the tasks under the hub.
BOOST_AUTO_TEST_CASE(run_info_prints_the_tree_of_greenlets) {
  auto t = green::spawn([] { green::sleep(1h); });
  t.set_name("worker");
  green::sleep();
  const std::string text = green::run_info();
  std::istringstream lines(text);
  std::vector<std::string> ls;
  for (std::string l; std::getline(lines, l);) ls.push_back(l);
  BOOST_REQUIRE_EQUAL(ls.size(), 3u);
  BOOST_CHECK(starts_with(ls[0], "+--- main #"));
  BOOST_CHECK(starts_with(ls[1], "  +--- hub #"));
  BOOST_CHECK(starts_with(ls[2], "    +--- task #"));
  BOOST_CHECK(ls[2].find("'worker': blocked on sleep (spawned at ") != std::string::npos);
  BOOST_CHECK(ls[2].find("hub_run_info_test.cpp:") != std::string::npos);
  t.kill();
}

// H12.4: a thread without a hub has only its main greenlet, and run_info()
// does not create a hub.
BOOST_AUTO_TEST_CASE(run_info_without_a_hub_lists_main_only) {
  std::vector<green::greenlet_info> seen;
  bool had_hub = true;
  std::thread other([&] {
    seen = green::run_info_entries();
    had_hub = green::has_hub();
  });
  other.join();
  BOOST_REQUIRE_EQUAL(seen.size(), 1u);
  BOOST_CHECK_EQUAL(seen[0].state, "running");
  BOOST_CHECK(!had_hub);
}

BOOST_AUTO_TEST_SUITE_END()
