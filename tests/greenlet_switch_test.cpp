// Switching and payloads: G3.1-G3.6, G2.4 and G4.1, including the packing
// table (G3.2) and the C++ signatures a greenlet function may have.
#define BOOST_TEST_MODULE greenlet_switch
#include <boost/test/unit_test.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "support/fixtures.hpp"

namespace {

using int_pair = std::tuple<int, int>;

// received_by_suspended() starts a greenlet that suspends in switch_(),
// resumes it with `args` and returns what its pending switch_() returned.
// `finished` tells whether the greenlet ran to its end afterwards.
template <class... A>
green::value received_by_suspended(bool& finished, A&&... args) {
  green::value got;
  green::greenlet g([&] { got = green::getcurrent().parent()->switch_(); });
  g.switch_();
  g.switch_(std::forward<A>(args)...);
  finished = g.dead();
  return got;
}

// received_by_parent() starts a greenlet that switches `args` to its parent
// and returns what that switch delivered to the parent.
template <class... A>
green::value received_by_parent(A&&... args) {
  green::greenlet g([&] { green::getcurrent().parent()->switch_(args...); });
  green::value got = g.switch_();
  g.switch_();  // let it finish
  return got;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_switch, green::test::leak_check)

// G3.1 (test_simple): ping-pong order.
BOOST_AUTO_TEST_CASE(ping_pong_runs_in_switch_order_and_ends_dead) {
  std::vector<int> seen;
  green::greenlet g([&] {
    seen.push_back(1);
    green::getcurrent().parent()->switch_();
    seen.push_back(3);
  });
  seen.push_back(0);
  g.switch_();
  seen.push_back(2);
  g.switch_();
  seen.push_back(4);
  BOOST_TEST(seen == (std::vector<int>{0, 1, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_TEST(g.dead());
}

// G3.1 (test_two_children): two greenlets with the same function
// advance independently.
BOOST_AUTO_TEST_CASE(two_children_interleaved_advance_independently) {
  std::vector<char> seen;
  auto make_body = [&] {
    return [&] {
      const char who = green::getcurrent().name()[0];
      seen.push_back(who);
      green::getcurrent().parent()->switch_();
      seen.push_back(who);
      seen.push_back(who);
    };
  };
  green::greenlet g(make_body());
  g.set_name("g");
  green::greenlet h(make_body());
  h.set_name("h");
  g.switch_();
  BOOST_TEST(seen.size() == 1u);
  h.switch_();
  BOOST_TEST(seen.size() == 2u);
  h.switch_();
  BOOST_TEST(seen.size() == 4u);
  BOOST_TEST(h.dead());
  BOOST_TEST(!g.dead());
  BOOST_TEST(static_cast<bool>(g));
  g.switch_();
  BOOST_TEST(seen.size() == 6u);
  BOOST_TEST(g.dead());
  BOOST_TEST(seen == (std::vector<char>{'g', 'h', 'h', 'h', 'g', 'g'}),
             boost::test_tools::per_element());
}

// G2.2 (test_two_recursive_children): a greenlet created inside another
// switches back to its creator, which is its parent.
BOOST_AUTO_TEST_CASE(child_created_in_greenlet_returns_to_its_creator) {
  std::vector<char> seen;
  green::greenlet a([&] {
    seen.push_back('a');
    green::greenlet b([&] {
      seen.push_back('b');
      green::getcurrent().parent()->switch_();
    });
    b.switch_();
    seen.push_back('c');
  });
  a.switch_();
  BOOST_TEST(seen == (std::vector<char>{'a', 'b', 'c'}), boost::test_tools::per_element());
  BOOST_TEST(a.dead());
}

// G2.4: the first switch's arguments become the function's arguments.
BOOST_AUTO_TEST_CASE(first_switch_with_two_arguments_calls_typed_function_with_both) {
  green::greenlet g([](std::string x, std::string y) { return x + y; });
  green::value r = g.switch_(std::string("hello"), std::string(" world"));
  BOOST_TEST(green::value_cast<std::string>(r) == "hello world");
  BOOST_TEST(g.dead());
}

// G2.4 (greenlet's documentation: run(a=4, b=2)): keyword-style arguments at
// the start reach the function as green::kwargs.
BOOST_AUTO_TEST_CASE(first_switch_with_kwargs_passes_them_to_function) {
  green::greenlet g([](green::kwargs kw) {
    return green::value_cast<int>(kw.at("a")) * 10 + green::value_cast<int>(kw.at("b"));
  });
  green::value r = g.switch_(green::kwargs{{"a", 4}, {"b", 2}});
  BOOST_TEST(green::value_cast<int>(r) == 42);
  BOOST_TEST(g.dead());
}

// G2.4 / G3.2: a function taking a green::value gets the packed
// payload itself, exactly as a resumed switch_() would.
BOOST_AUTO_TEST_CASE(first_switch_to_value_function_passes_packed_payload) {
  green::value got;
  green::greenlet g([&](green::value v) { got = std::move(v); });
  g.switch_(1, 2);
  BOOST_TEST((green::value_cast<int_pair>(got) == int_pair{1, 2}));
  BOOST_TEST(g.dead());
}

// G2.4: a single typed parameter receives the single (unwrapped) value.
BOOST_AUTO_TEST_CASE(first_switch_with_one_argument_calls_single_parameter_function) {
  green::greenlet g([](int x) { return x + 1; });
  BOOST_TEST(green::value_cast<int>(g.switch_(41)) == 42);
  BOOST_TEST(g.dead());
}

// G2.4 / : a function taking nothing is started by an empty
// switch (Python: run() called with no arguments).
BOOST_AUTO_TEST_CASE(first_switch_without_arguments_calls_nullary_function) {
  int calls = 0;
  green::greenlet g([&] { ++calls; });
  green::value r = g.switch_();
  BOOST_TEST(calls == 1);
  BOOST_TEST(!r.has_value());  // returning void gives an empty value (Python: None)
  BOOST_TEST(g.dead());
}

// G2.4 (mapping): typed parameters that do not match the payload raise
// green::error in the caller, because the greenlet dies with it.
BOOST_AUTO_TEST_CASE(first_switch_with_mismatched_argument_types_raises_error_in_caller) {
  int calls = 0;
  green::greenlet g([&](int, int) { ++calls; });
  BOOST_CHECK_THROW(g.switch_(std::string("a"), std::string("b")), green::error);
  BOOST_TEST(calls == 0);
  BOOST_TEST(g.dead());
  BOOST_TEST(!g);
}

// G2.4 (mapping; Python: TypeError: run() takes 0 positional arguments
// but 1 was given): a nullary function started with a value raises in the caller.
BOOST_AUTO_TEST_CASE(first_switch_with_argument_to_nullary_function_raises_error_in_caller) {
  int calls = 0;
  green::greenlet g([&] { ++calls; });
  BOOST_CHECK_EXCEPTION(g.switch_(5), green::error, [](const green::error& e) {
    return std::string(e.what()).find("takes no arguments") != std::string::npos;
  });
  BOOST_TEST(calls == 0);
  BOOST_TEST(g.dead());
}

// G3.2 (packing table): switch() ->.
BOOST_AUTO_TEST_CASE(resume_with_nothing_delivers_empty_value) {
  bool finished = false;
  green::value v = received_by_suspended(finished);
  BOOST_TEST(!v.has_value());
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch(1) -> 1 (a single value is unwrapped).
BOOST_AUTO_TEST_CASE(resume_with_one_value_delivers_that_value) {
  bool finished = false;
  green::value v = received_by_suspended(finished, 1);
  BOOST_TEST(green::value_cast<int>(v) == 1);
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch(1, 2) -> (1, 2).
BOOST_AUTO_TEST_CASE(resume_with_two_values_delivers_tuple) {
  bool finished = false;
  green::value v = received_by_suspended(finished, 1, 2);
  BOOST_TEST((green::value_cast<int_pair>(v) == int_pair{1, 2}));
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch(x=1) -> {'x': 1}.
BOOST_AUTO_TEST_CASE(resume_with_kwargs_only_delivers_kwargs) {
  bool finished = false;
  green::value v = received_by_suspended(finished, green::kwargs{{"x", 1}});
  auto kw = green::value_cast<green::kwargs>(v);
  BOOST_TEST(kw.size() == 1u);
  BOOST_TEST(green::value_cast<int>(kw.at("x")) == 1);
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch(1, x=1) -> ((1,), {'x': 1}).
BOOST_AUTO_TEST_CASE(resume_with_value_and_kwargs_delivers_args_tuple_and_kwargs) {
  bool finished = false;
  green::value v = received_by_suspended(finished, 1, green::kwargs{{"x", 1}});
  auto [args, kw] = green::value_cast<std::tuple<std::tuple<int>, green::kwargs>>(v);
  BOOST_TEST(std::get<0>(args) == 1);
  BOOST_TEST(kw.size() == 1u);
  BOOST_TEST(green::value_cast<int>(kw.at("x")) == 1);
  BOOST_TEST(finished);
}

// G3.2 packing table: switch(x, y, k=v) -> ((x, y), {'k': v}).
BOOST_AUTO_TEST_CASE(resume_with_two_values_and_kwargs_delivers_args_tuple_and_kwargs) {
  bool finished = false;
  green::value v = received_by_suspended(finished, 1, 2, green::kwargs{{"k", 3}});
  auto [args, kw] = green::value_cast<std::tuple<int_pair, green::kwargs>>(v);
  BOOST_TEST((args == int_pair{1, 2}));
  BOOST_TEST(kw.size() == 1u);
  BOOST_TEST(green::value_cast<int>(kw.at("k")) == 3);
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch((1,)) -> (1,) (unwrapped once only).
BOOST_AUTO_TEST_CASE(resume_with_one_tuple_delivers_the_tuple_unchanged) {
  bool finished = false;
  green::value v = received_by_suspended(finished, std::tuple<int>{1});
  BOOST_TEST(std::get<0>(green::value_cast<std::tuple<int>>(v)) == 1);
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch(None) -> None; None maps to an empty value.
BOOST_AUTO_TEST_CASE(resume_with_empty_value_delivers_empty_value) {
  bool finished = false;
  green::value v = received_by_suspended(finished, green::value{});
  BOOST_TEST(!v.has_value());
  BOOST_TEST(finished);
}

// G3.2 (packing table): switch(*(), **{}) -> (empty kwargs ignored).
BOOST_AUTO_TEST_CASE(resume_with_empty_kwargs_only_delivers_empty_value) {
  bool finished = false;
  green::value v = received_by_suspended(finished, green::kwargs{});
  BOOST_TEST(!v.has_value());
  BOOST_TEST(finished);
}

// G3.2: if kwargs is empty the result is the args, unwrapped as usual.
BOOST_AUTO_TEST_CASE(resume_with_value_and_empty_kwargs_delivers_the_value) {
  bool finished = false;
  green::value v = received_by_suspended(finished, 7, green::kwargs{});
  BOOST_TEST(green::value_cast<int>(v) == 7);
  bool finished2 = false;
  green::value w = received_by_suspended(finished2, 7, 8, green::kwargs{});
  BOOST_TEST((green::value_cast<int_pair>(w) == int_pair{7, 8}));
  BOOST_TEST(finished);
  BOOST_TEST(finished2);
}

// value.hpp: arguments are stored decayed (a string literal arrives as const char*).
BOOST_AUTO_TEST_CASE(resume_with_string_literal_delivers_decayed_pointer) {
  bool finished = false;
  green::value v = received_by_suspended(finished, "lit");
  BOOST_TEST(std::string(green::value_cast<const char*>(v)) == "lit");
  BOOST_TEST(finished);
}

// G3.3: the packing is the same in both directions; a child switching to
// its parent packs its arguments the same way.
BOOST_AUTO_TEST_CASE(switch_to_parent_packs_payload_like_resume) {
  BOOST_TEST(!received_by_parent().has_value());
  BOOST_TEST(green::value_cast<int>(received_by_parent(1)) == 1);
  BOOST_TEST((green::value_cast<int_pair>(received_by_parent(1, 2)) == int_pair{1, 2}));
  BOOST_TEST(!received_by_parent(green::kwargs{}).has_value());
  BOOST_TEST(
      std::get<0>(green::value_cast<std::tuple<int>>(received_by_parent(std::tuple<int>{4}))) == 4);
}

// G3.4: value_cast names both types on a mismatch.
BOOST_AUTO_TEST_CASE(value_cast_of_wrong_type_raises_error_naming_both_types) {
  bool finished = false;
  green::value v = received_by_suspended(finished, 1);
  BOOST_CHECK_EXCEPTION(green::value_cast<std::string>(v), green::error, [](const green::error& e) {
    std::string m = e.what();
    return m.find("int") != std::string::npos && m.find("string") != std::string::npos;
  });
  BOOST_TEST(finished);
}

// G4.1 (test_frame): the function's return value goes to the parent's
// pending switch and the greenlet is dead.
BOOST_AUTO_TEST_CASE(return_value_goes_to_parent_and_greenlet_ends_dead) {
  green::greenlet g([] {
    green::getcurrent().parent()->switch_(1);
    return std::string("meaning of life");
  });
  BOOST_TEST(green::value_cast<int>(g.switch_()) == 1);
  BOOST_TEST(!g.dead());
  green::value r = g.switch_();
  BOOST_TEST(green::value_cast<std::string>(r) == "meaning of life");
  BOOST_TEST(g.dead());
  BOOST_TEST(!g);
}

// G3.3: a returned one-element tuple is not unwrapped.
BOOST_AUTO_TEST_CASE(returned_one_tuple_reaches_parent_unchanged) {
  green::greenlet g([] { return std::tuple<int>{7}; });
  green::value r = g.switch_();
  BOOST_TEST(std::get<0>(green::value_cast<std::tuple<int>>(r)) == 7);
  BOOST_TEST(g.dead());
}

// G3.3: returning or None gives an empty value; a returned pair stays a pair.
BOOST_AUTO_TEST_CASE(returned_empty_value_or_pair_reaches_parent_unchanged) {
  green::greenlet empty([] { return green::value{}; });
  BOOST_TEST(!empty.switch_().has_value());
  BOOST_TEST(empty.dead());
  green::greenlet pair([] { return int_pair{1, 2}; });
  BOOST_TEST((green::value_cast<int_pair>(pair.switch_()) == int_pair{1, 2}));
  BOOST_TEST(pair.dead());
  green::greenlet kw([] { return green::kwargs{{"a", 1}}; });
  BOOST_TEST(green::value_cast<green::kwargs>(kw.switch_()).size() == 1u);
  BOOST_TEST(kw.dead());
}

// G3.3 (test_switch_kwargs_to_parent).
BOOST_AUTO_TEST_CASE(child_switching_kwargs_to_parent_delivers_them_packed) {
  green::greenlet g([] {
    green::getcurrent().parent()->switch_(green::kwargs{{"x", 3}});
    green::getcurrent().parent()->switch_(2, green::kwargs{{"x", 3}});
    return int_pair{3, 9};
  });
  green::value first = g.switch_();
  auto kw1 = green::value_cast<green::kwargs>(first);
  BOOST_TEST(kw1.size() == 1u);
  BOOST_TEST(green::value_cast<int>(kw1.at("x")) == 3);

  green::value second = g.switch_();
  auto [args, kw2] = green::value_cast<std::tuple<std::tuple<int>, green::kwargs>>(second);
  BOOST_TEST(std::get<0>(args) == 2);
  BOOST_TEST(kw2.size() == 1u);
  BOOST_TEST(green::value_cast<int>(kw2.at("x")) == 3);

  green::value third = g.switch_();
  BOOST_TEST((green::value_cast<int_pair>(third) == int_pair{3, 9}));
  BOOST_TEST(g.dead());
}

// G3.6: switching to the current greenlet returns the packed payload at once.
BOOST_AUTO_TEST_CASE(switch_to_self_in_greenlet_returns_packed_payload_at_once) {
  green::value got;
  std::vector<int> seen;
  green::greenlet g([&] {
    seen.push_back(1);
    green::greenlet me = green::getcurrent();
    got = me.switch_(1, 2);
    seen.push_back(2);
  });
  g.switch_();
  BOOST_TEST(seen == (std::vector<int>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST((green::value_cast<int_pair>(got) == int_pair{1, 2}));
  BOOST_TEST(g.dead());
}

// G3.6: sw(main) from main ->; main.switch(a=1) -> {'a': 1}.
BOOST_AUTO_TEST_CASE(switch_to_main_from_main_returns_packed_payload_at_once) {
  green::greenlet main = green::getcurrent();
  BOOST_TEST(!main.switch_().has_value());
  BOOST_TEST(green::value_cast<int>(main.switch_(5)) == 5);
  auto kw = green::value_cast<green::kwargs>(main.switch_(green::kwargs{{"a", 1}}));
  BOOST_TEST(green::value_cast<int>(kw.at("a")) == 1);
  BOOST_TEST((green::getcurrent() == main));
  BOOST_TEST(static_cast<bool>(main));
}

// G3.1 (docs example): gr1 -> gr2 -> gr1; gr1 finishes to main and
// gr2 stays suspended forever, its last line never runs.
BOOST_AUTO_TEST_CASE(jump_to_sibling_never_resumed_leaves_it_suspended) {
  std::vector<int> seen;
  green::greenlet gr1;
  green::greenlet gr2;
  gr1.set_run([&] {
    seen.push_back(12);
    gr2.switch_();
    seen.push_back(34);
    return std::string("test1 done");
  });
  gr2.set_run([&] {
    seen.push_back(56);
    gr1.switch_();
    seen.push_back(78);
  });
  green::value r = gr1.switch_();
  BOOST_TEST(green::value_cast<std::string>(r) == "test1 done");
  BOOST_TEST(seen == (std::vector<int>{12, 56, 34}), boost::test_tools::per_element());
  BOOST_TEST(gr1.dead());
  BOOST_TEST(!gr2.dead());
  BOOST_TEST(static_cast<bool>(gr2));
  // Killing it unwinds it without running its last line.
  green::value exit = gr2.throw_();
  BOOST_TEST(exit.get_if<green::greenlet_exit>() != nullptr);
  BOOST_TEST(gr2.dead());
  BOOST_TEST(seen == (std::vector<int>{12, 56, 34}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
