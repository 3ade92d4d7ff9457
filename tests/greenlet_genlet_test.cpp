// Generators built ON greenlets ("genlets"): P8.1-P8.5 and P1.10, a port of
// greenlet's test_generator.py and test_generator_nested.py. The genlet class
// below is the Python one, written with green::greenlet: next() makes the
// consumer the genlet's parent and switches in; Yield(v) finds the genlet and
// switches to its parent (the consumer). Nothing here is library API.
#define BOOST_TEST_MODULE greenlet_genlet
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "green/greenlet.hpp"
#include "support/fixtures.hpp"

namespace {

using ints = std::vector<int>;

// Python:
//   class genlet(greenlet):
//       def __init__(self, *args, **kwds): self.args, self.kwds, self.child = ...
//       def run(self): fn, = self.fn; fn(*self.args, **self.kwds)
//       def set_child(self, child): self.child = child
//       def __next__(self):
//           if self.child:
//               child = self.child
//               while child.child:
//                   tmp = child; child = child.child; tmp.child = None
//               result = child.switch()
//           else:
//               self.parent = greenlet.getcurrent()
//               result = self.switch()
//           if self: return result
//           raise StopIteration
class genlet {
 public:
  explicit genlet(std::function<void()> body) : g_([body = std::move(body)] { body(); }) {
    registry()[g_.id()] = this;
  }
  genlet(const genlet&) = delete;
  genlet& operator=(const genlet&) = delete;

  // Python's genlet has no destructor: an abandoned genlet whose nested
  // genlets point back at it (their parent) is a reference cycle through a
  // suspended frame, which greenlet leaks (G10.6). The C++ port closes an
  // abandoned genlet instead, so its stack unwinds (closing nested genlets
  // first) and nothing leaks.
  ~genlet() {
    if (g_) {
      g_.set_parent(green::getcurrent());
      g_.throw_();
    }
    registry().erase(g_.id());
  }

  // The genlet whose greenlet is `g`, if it is one (Python: isinstance).
  static genlet* of(const green::greenlet& g) {
    auto it = registry().find(g.id());
    return it == registry().end() ? nullptr : it->second;
  }

  // next() returns the next yielded value; nothing once the body has ended.
  std::optional<green::value> next() {
    green::value result;
    if (child_ != nullptr) {
      genlet* child = child_;
      while (child->child_ != nullptr) {
        genlet* tmp = child;
        child = child->child_;
        tmp->child_ = nullptr;
      }
      result = child->g_.switch_();
    } else {
      g_.set_parent(green::getcurrent());
      result = g_.switch_();
    }
    if (g_) return result;
    return std::nullopt;
  }

  // Drains the genlet into a vector of T (Python: list(gen)).
  template <class T>
  std::vector<T> collect() {
    std::vector<T> out;
    while (auto v = next()) out.push_back(green::value_cast<T>(*v));
    return out;
  }

  void set_child(genlet* child) { child_ = child; }
  const green::greenlet& handle() const { return g_; }

 private:
  static std::unordered_map<std::uint64_t, genlet*>& registry() {
    static std::unordered_map<std::uint64_t, genlet*> map;
    return map;
  }

  green::greenlet g_;
  genlet* child_ = nullptr;
};

// test_generator.py:
//   def Yield(value):
//       g = greenlet.getcurrent()
//       while not isinstance(g, genlet):
//           if g is None: raise RuntimeError('yield outside a genlet')
//           g = g.parent
//       g.parent.switch(value)
namespace simple {
void Yield(green::value v) {
  // Only the consumer is held across the switch: a handle to the genlet's
  // own greenlet on its own stack would keep it from ever being killed.
  green::greenlet consumer = [] {
    std::optional<green::greenlet> g = green::getcurrent();
    while (genlet::of(*g) == nullptr) {
      g = g->parent();
      if (!g) throw std::runtime_error("yield outside a genlet");
    }
    return *g->parent();
  }();
  consumer.switch_(std::move(v));
}
}  // namespace simple

// test_generator_nested.py:
//   def Yield(value, level=1):
//       g = greenlet.getcurrent()
//       while level != 0:
//           if not isinstance(g, genlet): raise RuntimeError('yield outside a genlet')
//           if level > 1: g.parent.set_child(g)
//           g = g.parent
//           level -= 1
//       g.switch(value)
namespace nested {
void Yield(green::value v, int level = 1) {
  green::greenlet target = [level]() mutable {
    green::greenlet g = green::getcurrent();
    while (level != 0) {
      genlet* gl = genlet::of(g);
      if (gl == nullptr) throw std::runtime_error("yield outside a genlet");
      green::greenlet parent = *g.parent();
      if (level > 1) {
        genlet* p = genlet::of(parent);
        if (p == nullptr) throw std::runtime_error("yield outside a genlet");
        p->set_child(gl);
      }
      g = parent;
      --level;
    }
    return g;
  }();
  target.switch_(std::move(v));
}
}  // namespace nested

// def g2(n, seen): for i in range(n): seen.append(i + 1); Yield(i)
void g2(int n, ints& seen) {
  for (int i = 0; i < n; ++i) {
    seen.push_back(i + 1);
    nested::Yield(i);
  }
}

// def nested(i): Yield(i)
void nested_call(int i) { nested::Yield(i); }

// def g3(n, seen): for i in range(n): seen.append(i + 1); nested(i)
void g3(int n, ints& seen) {
  for (int i = 0; i < n; ++i) {
    seen.push_back(i + 1);
    nested_call(i);
  }
}

// def a(n):
//     if n == 0: return
//     for ii in ax(n - 1): Yield(ii)
//     Yield(n)
void a(int n) {
  if (n == 0) return;
  genlet sub([n] { a(n - 1); });
  while (auto ii = sub.next()) nested::Yield(*ii);
  nested::Yield(n);
}

// def perms(l):
//     if len(l) > 1:
//         for e in l:
//             x = [Yield([e] + p) for p in perms([x for x in l if x != e])]
//             assert x
//     else:
//         Yield(l)
void perms(const ints& l, bool& every_level_yielded) {
  if (l.size() > 1) {
    for (int e : l) {
      ints rest;
      for (int x : l) {
        if (x != e) rest.push_back(x);
      }
      genlet sub([rest, &every_level_yielded] { perms(rest, every_level_yielded); });
      std::size_t x = 0;
      while (auto p = sub.next()) {
        ints v = green::value_cast<ints>(*p);
        v.insert(v.begin(), e);
        nested::Yield(v);
        ++x;
      }
      if (x == 0) every_level_yielded = false;  // assert x
    }
  } else {
    nested::Yield(l);
  }
}

// def gr1(n):
//     for ii in range(1, n):
//         Yield(ii)
//         Yield(ii * ii, 2)
void gr1(int n) {
  for (int ii = 1; ii < n; ++ii) {
    nested::Yield(ii);
    nested::Yield(ii * ii, 2);
  }
}

// def gr2(n, seen):
//     for ii in gr1(n): seen.append(ii)
void gr2(int n, ints& seen) {
  genlet sub([n] { gr1(n); });
  while (auto ii = sub.next()) seen.push_back(green::value_cast<int>(*ii));
}

ints repeat3(const ints& v) {
  ints out;
  for (int i = 0; i < 3; ++i) out.insert(out.end(), v.begin(), v.end());
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_genlet, green::test::leak_check)

// P8.1, greenlet: test_generator.py::test_generator. The producer
// appends i and yields it; the consumer appends what it gets; three rounds.
// After exhaustion the genlet is dead and next() keeps reporting the end.
BOOST_AUTO_TEST_CASE(simple_genlet_interleaves_producer_and_consumer_three_times) {
  ints seen;
  auto g = [&seen](int n) {
    return std::make_unique<genlet>([n, &seen] {
      for (int i = 0; i < n; ++i) {
        seen.push_back(i);
        simple::Yield(i);
      }
    });
  };
  for (int round = 0; round < 3; ++round) {
    auto gen = g(5);
    while (auto j = gen->next()) seen.push_back(green::value_cast<int>(*j));
    BOOST_TEST(gen->handle().dead());
    BOOST_TEST(!gen->next().has_value());  // a dead genlet stays exhausted
  }
  BOOST_TEST(seen == repeat3({0, 0, 1, 1, 2, 2, 3, 3, 4, 4}), boost::test_tools::per_element());
}

// P8.1 (test_generator.py Yield): Yield walks up the parent chain to
// the nearest enclosing genlet, so a plain greenlet started inside the body
// can yield for it.
BOOST_AUTO_TEST_CASE(simple_yield_from_plain_greenlet_inside_body_yields_for_enclosing_genlet) {
  ints seen;
  genlet gen([&seen] {
    for (int i = 0; i < 3; ++i) {
      green::greenlet helper([i] { simple::Yield(i * 10); });
      // The consumer's next() resumes the genlet here, not the helper, which
      // stays suspended in its Yield (and is killed when `helper` goes).
      helper.switch_();
      seen.push_back(helper ? 1 : 0);
    }
  });
  ints got;
  while (auto v = gen.next()) got.push_back(green::value_cast<int>(*v));
  BOOST_TEST(got == (ints{0, 10, 20}), boost::test_tools::per_element());
  BOOST_TEST(seen == (ints{1, 1, 1}), boost::test_tools::per_element());
}

// P8.2, greenlet: test_generator_nested.py::test_genlet_simple (g2 and
// g3; g1 is a plain Python generator, the baseline, with no C++ counterpart
// here). g3 yields from a helper function, not from the body itself.
BOOST_AUTO_TEST_CASE(yield_from_nested_call_gives_same_sequence_as_yield_from_body) {
  for (auto* body : {&g2, &g3}) {
    ints seen;
    for (int round = 0; round < 3; ++round) {
      genlet gen([body, &seen] { body(5, seen); });
      while (auto j = gen.next()) seen.push_back(green::value_cast<int>(*j));
    }
    BOOST_TEST(seen == repeat3({1, 0, 2, 1, 3, 2, 4, 3, 5, 4}), boost::test_tools::per_element());
  }
}

// P8.3, greenlet: test_generator_nested.py::test_nested_genlets.
// ax(n) re-yields everything of ax(n - 1), then n.
BOOST_AUTO_TEST_CASE(recursive_genlets_yield_one_to_five) {
  genlet ax([] { a(5); });
  ints seen = ax.collect<int>();
  BOOST_TEST(seen == (ints{1, 2, 3, 4, 5}), boost::test_tools::per_element());
}

// P8.3, greenlet: test_generator_nested.py::test_permutations (first
// half): 24 distinct permutations of 4 items, including [0,1,2,3] and
// [3,2,1,0]; every level yielded something (the `assert x`).
BOOST_AUTO_TEST_CASE(recursive_permutation_genlets_yield_24_distinct_lists) {
  bool every_level_yielded = true;
  genlet gen_perms([&] { perms({0, 1, 2, 3}, every_level_yielded); });
  std::vector<ints> permutations = gen_perms.collect<ints>();
  BOOST_TEST(permutations.size() == 24u);
  std::vector<ints> sorted = permutations;
  std::sort(sorted.begin(), sorted.end());
  BOOST_TEST((std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()));
  BOOST_TEST((std::find(permutations.begin(), permutations.end(), ints{0, 1, 2, 3}) !=
              permutations.end()));
  BOOST_TEST((std::find(permutations.begin(), permutations.end(), ints{3, 2, 1, 0}) !=
              permutations.end()));
  BOOST_TEST(permutations.front() == (ints{0, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(every_level_yielded);
}

// P8.3, test_permutations (second half): zip(perms(4), perms(3))
// advances both genlets independently and in order: exactly these 6 pairs.
// (zip asks perms(4) for a 7th value before perms(3) reports the end, so
// perms(4) is abandoned while suspended, with nested genlets under it.)
BOOST_AUTO_TEST_CASE(zipped_permutation_genlets_advance_independently) {
  bool ok4 = true, ok3 = true;
  std::vector<std::pair<ints, ints>> res;
  {
    genlet p4([&] { perms({0, 1, 2, 3}, ok4); });
    genlet p3([&] { perms({0, 1, 2}, ok3); });
    for (;;) {
      auto x = p4.next();
      if (!x) break;
      auto y = p3.next();
      if (!y) break;
      res.emplace_back(green::value_cast<ints>(*x), green::value_cast<ints>(*y));
    }
    BOOST_TEST(static_cast<bool>(p4.handle()));  // abandoned mid-way
    BOOST_TEST(p3.handle().dead());
  }
  const std::vector<std::pair<ints, ints>> expected = {
      {{0, 1, 2, 3}, {0, 1, 2}}, {{0, 1, 3, 2}, {0, 2, 1}}, {{0, 2, 1, 3}, {1, 0, 2}},
      {{0, 2, 3, 1}, {1, 2, 0}}, {{0, 3, 1, 2}, {2, 0, 1}}, {{0, 3, 2, 1}, {2, 1, 0}}};
  BOOST_TEST(res.size() == expected.size());
  BOOST_TEST((res == expected));
  BOOST_TEST(ok3);
}

// P8.4, greenlet: test_generator_nested.py::test_layered_genlets.
// gr1 yields ii to gr2 (level 1) and ii*ii straight to gr2's consumer
// (level 2); gr2's next() then resumes gr1 directly through set_child.
BOOST_AUTO_TEST_CASE(multi_level_yield_skips_intermediate_genlet) {
  ints seen;
  genlet gen([&seen] { gr2(5, seen); });
  while (auto ii = gen.next()) seen.push_back(green::value_cast<int>(*ii));
  BOOST_TEST(seen == (ints{1, 1, 2, 4, 3, 9, 4, 16}), boost::test_tools::per_element());
  BOOST_TEST(gen.handle().dead());
}

// P8.5, greenlet: test_generator_nested.py::test_genlet_bad. Yield
// outside any genlet raises "yield outside a genlet" and changes nothing:
// no switch happens, from main or from a plain greenlet.
BOOST_AUTO_TEST_CASE(yield_outside_genlet_raises_error_and_changes_nothing) {
  const std::size_t live = green::debug::live_greenlets();
  std::string simple_msg, nested_msg;
  try {
    simple::Yield(10);
  } catch (const std::runtime_error& e) {
    simple_msg = e.what();
  }
  try {
    nested::Yield(10);
  } catch (const std::runtime_error& e) {
    nested_msg = e.what();
  }
  BOOST_TEST(simple_msg == "yield outside a genlet");
  BOOST_TEST(nested_msg == "yield outside a genlet");
  BOOST_TEST(green::getcurrent().is_main());
  BOOST_TEST(green::debug::live_greenlets() == live);

  // From a plain greenlet: the error stays inside it; it goes on and returns.
  std::vector<std::string> inside;
  green::greenlet plain([&] {
    try {
      simple::Yield(1);
      inside.push_back("no error");
    } catch (const std::runtime_error& e) {
      inside.push_back(e.what());
    }
    try {
      nested::Yield(2, 2);
      inside.push_back("no error");
    } catch (const std::runtime_error& e) {
      inside.push_back(e.what());
    }
    return 7;
  });
  BOOST_TEST(green::value_cast<int>(plain.switch_()) == 7);
  BOOST_TEST(
      inside == (std::vector<std::string>{"yield outside a genlet", "yield outside a genlet"}),
      boost::test_tools::per_element());
}

// P1.10: a genlet whose body yields nothing reports exhaustion at the
// first next(), and is dead.
BOOST_AUTO_TEST_CASE(empty_genlet_is_exhausted_at_first_next) {
  bool ran = false;
  genlet empty([&ran] { ran = true; });
  BOOST_TEST(!empty.next().has_value());
  BOOST_TEST(ran);
  BOOST_TEST(empty.handle().dead());
  BOOST_TEST(!empty.next().has_value());
}

// Abandoning a suspended genlet (no Python counterpart, see ~genlet): its
// stack unwinds, nested genlets first, and no greenlet is left behind.
BOOST_AUTO_TEST_CASE(abandoned_genlet_unwinds_its_nested_genlets) {
  std::vector<std::string> unwound;
  struct note {
    std::vector<std::string>* out;
    std::string name;
    ~note() { out->push_back(name); }
  };
  {
    genlet outer([&] {
      note n{&unwound, "outer"};
      genlet inner([&] {
        note m{&unwound, "inner"};
        for (int i = 0;; ++i) nested::Yield(i);
      });
      while (auto v = inner.next()) nested::Yield(*v);
    });
    BOOST_TEST(green::value_cast<int>(*outer.next()) == 0);
    BOOST_TEST(green::value_cast<int>(*outer.next()) == 1);
  }
  BOOST_TEST(unwound == (std::vector<std::string>{"inner", "outer"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
