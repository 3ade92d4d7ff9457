// tests/support/generator_impls.hpp: the two generator implementations as
// test policies. Each policy defines the same named generator bodies, once
// per implementation, so that every protocol test is written once and runs
// against both (BOOST_AUTO_TEST_CASE_TEMPLATE over generator_impls).
//
// Conventions for the bodies: they record what they see in a log_t (bodies
// never assert; the test body does), "finally" blocks are RAII guards
// (finally_log), and a stackless body cannot co_yield inside a catch handler,
// so it sets a flag and yields after the handler (same behaviour).

#ifndef GREEN_TESTS_SUPPORT_GENERATOR_IMPLS_HPP
#define GREEN_TESTS_SUPPORT_GENERATOR_IMPLS_HPP

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "green/generator.hpp"
#include "green/stackless.hpp"
#include "support/counted.hpp"

namespace green::test {

using log_t = std::vector<std::string>;

// finally_log appends `what` to the log when it goes out of scope: Python's
// `finally:` in Python's examples.
struct finally_log {
  log_t& log;
  const char* what;
  ~finally_log() { log.push_back(what); }
};

// key_error stands for Python's KeyError: an ordinary exception.
struct key_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// tagged_exit is a generator_exit subclass carrying a tag (Python:
// GeneratorExit('x') and the MyExit subclass of P2.6).
struct tagged_exit : green::generator_exit {
  explicit tagged_exit(std::string t) : tag(std::move(t)) {}
  std::string tag;
};

inline std::string exit_name(const green::generator_exit& e) {
  if (auto* t = dynamic_cast<const tagged_exit*>(&e)) return "tagged_exit(" + t->tag + ")";
  return "generator_exit";
}

// no_default is a send type without a default value: next() on a started
// generator with it has no "None" to give the pending yield.
struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};

// What a body does when generator_exit arrives at its yield.
enum class on_exit { rethrow, yield, return_value, raise_other, raise_stop };

// What a body does when a runtime_error is thrown in at its yield.
enum class on_throw { yield, return_value, raise };

// --------------------------------------------------------------------------
struct stackful {
  static constexpr const char* name = "stackful";
  // The core keeps std::current_exception() per greenlet (P2.4).
  static constexpr bool isolates_exception_state = true;

  template <class Y, class S = void, class R = void>
  using gen = green::generator<Y, S, R>;
  template <class Y, class S = void>
  using yielder = green::yielder<Y, S>;

  // counter(n) yields 0 .. n-1.
  static gen<int> counter(int n) {
    return gen<int>([n](yielder<int>& y) {
      for (int i = 0; i < n; ++i) y.yield(i);
    });
  }

  // counter_ret(n, r) yields 0 .. n-1 and returns r.
  static gen<int, void, int> counter_ret(int n, int r) {
    return gen<int, void, int>([n, r](yielder<int>& y) {
      for (int i = 0; i < n; ++i) y.yield(i);
      return r;
    });
  }

  // unique_values(n) yields n move-only values 0 .. n-1.
  static gen<std::unique_ptr<int>> unique_values(int n) {
    return gen<std::unique_ptr<int>>([n](yielder<std::unique_ptr<int>>& y) {
      for (int i = 0; i < n; ++i) y.yield(std::make_unique<int>(i));
    });
  }

  // unique_ret(n, r) yields 0 .. n-1 and returns a move-only
  // unique_ptr holding r.
  static gen<int, void, std::unique_ptr<int>> unique_ret(int n, int r) {
    return gen<int, void, std::unique_ptr<int>>([n, r](yielder<int>& y) {
      for (int i = 0; i < n; ++i) y.yield(i);
      return std::make_unique<int>(r);
    });
  }

  // strict_sink() yields 0, 1, 2 with a send type that has no default.
  static gen<int, no_default> strict_sink() {
    return gen<int, no_default>([](yielder<int, no_default>& y) {
      for (int i = 0; i < 3; ++i) (void)y.yield(i);
    });
  }

  // pair_ret() returns a tuple without yielding (P1.5).
  static gen<int, void, std::tuple<int, int>> pair_ret() {
    return gen<int, void, std::tuple<int, int>>(
        [](yielder<int>&) { return std::tuple<int, int>(1, 2); });
  }

  // logged(log) logs around two yields (P1.1, P1.2).
  static gen<int> logged(log_t& log) {
    return gen<int>([&log](yielder<int>& y) {
      finally_log f{log, "finally"};
      log.push_back("start");
      y.yield(1);
      log.push_back("after 1");
      y.yield(2);
      log.push_back("end");
    });
  }

  // hooked(hook, n) yields 0 .. n-1 and calls hook() before each yield.
  static gen<int> hooked(std::function<void()> hook, int n) {
    return gen<int>([hook = std::move(hook), n](yielder<int>& y) {
      for (int i = 0; i < n; ++i) {
        hook();
        y.yield(i);
      }
    });
  }

  // holding(n) keeps a counted object in the body and another in a nested
  // call (a loop scope for stackless) across its yields 0 .. n-1.
  static gen<int> holding(int n) {
    return gen<int>([n](yielder<int>& y) {
      counted outer;
      auto inner = [&] {
        counted nested;
        for (int i = 0; i < n; ++i) y.yield(i);
      };
      inner();
    });
  }

  // recorder(got) yields 0, 1, 2, ... and records what each yield returned.
  static gen<int, int> recorder(std::vector<int>& got) {
    return gen<int, int>([&got](yielder<int, int>& y) {
      for (int i = 0;; ++i) got.push_back(y.yield(i));
    });
  }

  // echo() yields back what it is sent (first 0); a negative v ends it with
  // result -v.
  static gen<int, int, int> echo() {
    return gen<int, int, int>([](yielder<int, int>& y) {
      int v = 0;
      for (;;) {
        v = y.yield(v);
        if (v < 0) return -v;
      }
    });
  }

  // accumulator() yields the running total of what it is sent.
  static gen<int, int, int> accumulator() {
    return gen<int, int, int>([](yielder<int, int>& y) {
      int total = 0;
      for (;;) {
        const int v = y.yield(total);
        if (v < 0) return total;
        total += v;
      }
    });
  }

  // raiser(n) yields 0 .. n-1, then throws runtime_error("boom").
  static gen<int> raiser(int n) {
    return gen<int>([n](yielder<int>& y) {
      for (int i = 0; i < n; ++i) y.yield(i);
      throw std::runtime_error("boom");
    });
  }

  // handler(log, mode) yields "first" and reacts to a runtime_error thrown
  // in (P2.2): yield "caught", return "handled-return", or let it out.
  static gen<std::string, void, std::string> handler(log_t& log, on_throw mode) {
    return gen<std::string, void, std::string>(
        [&log, mode](yielder<std::string>& y) -> std::string {
          finally_log f{log, "finally"};
          try {
            y.yield("first");
          } catch (const std::runtime_error& e) {
            log.push_back(std::string("caught ") + e.what());
            if (mode == on_throw::raise) throw;
            if (mode == on_throw::return_value) return "handled-return";
            y.yield("caught");
          }
          y.yield("after");
          return "end";
        });
  }

  // exit_handler(log, mode) yields "a", "b" and reacts to generator_exit
  // (P2.6, P3.2-P3.5): log it, then rethrow / yield "ignored" / return
  // "closing-value" / throw key_error / throw stop_iteration.
  static gen<std::string, void, std::string> exit_handler(log_t& log, on_exit mode) {
    return gen<std::string, void, std::string>(
        [&log, mode](yielder<std::string>& y) -> std::string {
          finally_log f{log, "finally"};
          try {
            y.yield("a");
            y.yield("b");
          } catch (const green::generator_exit& e) {
            log.push_back(exit_name(e));
            switch (mode) {
              case on_exit::rethrow:
                throw;
              case on_exit::yield:
                y.yield("ignored");
                log.push_back("resumed");
                return "after-ignore";
              case on_exit::return_value:
                return "closing-value";
              case on_exit::raise_other:
                throw key_error("during close");
              case on_exit::raise_stop:
                throw green::stop_iteration();
            }
          }
          return "end";
        });
  }

  // catch_all_return(log) swallows anything thrown in and returns 7 (P3.6).
  static gen<int, void, int> catch_all_return(log_t& log) {
    return gen<int, void, int>([&log](yielder<int>& y) {
      try {
        y.yield(1);
        y.yield(2);
      } catch (...) {
        log.push_back("swallowed");
        return 7;
      }
      return 0;
    });
  }

  // stop_raiser() yields 1, then lets a stop_iteration escape (P4.1).
  static gen<int> stop_raiser() {
    return gen<int>([](yielder<int>& y) {
      y.yield(1);
      throw green::stop_iteration();
    });
  }

  // next_on_exhausted() yields 1, then calls next() on a finished generator.
  static gen<int> next_on_exhausted() {
    return gen<int>([](yielder<int>& y) {
      gen<int> inner = counter(0);
      y.yield(1);
      y.yield(inner.next());
    });
  }

  // raise_logic_error() yields 1, then throws std::out_of_range.
  static gen<int> raise_out_of_range() {
    return gen<int>([](yielder<int>& y) {
      y.yield(1);
      throw std::out_of_range("not a stop");
    });
  }

  // current_exception_probe(seen): records whether std::current_exception()
  // is set inside the body, at the start and after each resume (P2.4).
  static gen<int> current_exception_probe(std::vector<bool>& seen) {
    return gen<int>([&seen](yielder<int>& y) {
      seen.push_back(static_cast<bool>(std::current_exception()));
      y.yield(1);
      seen.push_back(static_cast<bool>(std::current_exception()));
      y.yield(2);
    });
  }

  // ---- delegation ----------------------------------------------------------

  // delegator(sub, log): logs, r = yield_from(sub), logs r, returns r + 1.
  static gen<int, void, int> delegator(gen<int, void, int>& sub, log_t& log) {
    return gen<int, void, int>([&sub, &log](yielder<int>& y) {
      log.push_back("outer start");
      const int r = y.yield_from(sub);
      log.push_back("outer got " + std::to_string(r));
      return r + 1;
    });
  }

  // delegator_owned(n, r): return yield_from(counter_ret(n, r)) on a temporary.
  static gen<int, void, int> delegator_owned(int n, int r) {
    return gen<int, void, int>([n, r](yielder<int>& y) { return y.yield_from(counter_ret(n, r)); });
  }

  // twice(a, b): yields from a then from b, returns the sum of results.
  static gen<int, void, int> twice(gen<int, void, int>& a, gen<int, void, int>& b) {
    return gen<int, void, int>([&a, &b](yielder<int>& y) {
      const int ra = y.yield_from(a);
      const int rb = y.yield_from(b);
      return ra + rb;
    });
  }

  // send_delegator(sub): return yield_from(sub) with a send type.
  static gen<int, int, int> send_delegator(gen<int, int, int>& sub) {
    return gen<int, int, int>([&sub](yielder<int, int>& y) { return y.yield_from(sub); });
  }

  // range_delegator(values, log): yield_from(values), then yields -1 and
  // returns the count; logs an error raised at the yield_from.
  static gen<int, int, int> range_delegator(std::vector<int> values, log_t& log) {
    return gen<int, int, int>([values = std::move(values), &log](yielder<int, int>& y) {
      finally_log f{log, "outer finally"};
      try {
        y.yield_from(values);
      } catch (const green::error& e) {
        log.push_back(std::string("outer caught error: ") + e.what());
        throw;
      } catch (const std::runtime_error& e) {
        log.push_back(std::string("outer caught ") + e.what());
        throw;
      } catch (const green::generator_exit&) {
        log.push_back("outer generator_exit");
        throw;
      }
      y.yield(-1);
      return static_cast<int>(values.size());
    });
  }

  // iter_delegator(first, last): yield_from over an iterator pair.
  template <class It>
  static gen<int> iter_delegator(It first, It last) {
    return gen<int>([first, last](yielder<int>& y) { y.yield_from(first, last); });
  }

  // sub_logging(log): the subgenerator of P5.6: yields 1, 2,
  // logs generator_exit and finally, returns 99.
  static gen<int, void, int> sub_logging(log_t& log) {
    return gen<int, void, int>([&log](yielder<int>& y) {
      finally_log f{log, "sub finally"};
      try {
        y.yield(1);
        y.yield(2);
      } catch (const green::generator_exit& e) {
        log.push_back("sub " + exit_name(e));
        throw;
      }
      return 99;
    });
  }

  // outer_logging(sub, log): yield_from(sub) with the outer handlers.
  static gen<int, void, int> outer_logging(gen<int, void, int>& sub, log_t& log) {
    return gen<int, void, int>([&sub, &log](yielder<int>& y) {
      finally_log f{log, "outer finally"};
      try {
        return y.yield_from(sub);
      } catch (const green::generator_exit& e) {
        log.push_back("outer " + exit_name(e));
        throw;
      } catch (const std::exception& e) {
        log.push_back(std::string("outer caught ") + e.what());
        throw;
      }
    });
  }

  // throw_sub(log, mode): yields "sub-1"; a runtime_error thrown in is
  // handled per `mode` (P5.5).
  static gen<std::string, void, std::string> throw_sub(log_t& log, on_throw mode) {
    return gen<std::string, void, std::string>(
        [&log, mode](yielder<std::string>& y) -> std::string {
          finally_log f{log, "sub finally"};
          try {
            y.yield("sub-1");
          } catch (const std::runtime_error& e) {
            log.push_back(std::string("sub caught ") + e.what());
            if (mode == on_throw::raise) throw;
            if (mode == on_throw::return_value) return "sub handled";
            y.yield("sub caught");
          }
          y.yield("sub-2");
          return "sub done";
        });
  }

  // throw_outer(sub, log): r = yield_from(sub); logs; yields "outer-after".
  static gen<std::string, void, std::string> throw_outer(gen<std::string, void, std::string>& sub,
                                                         log_t& log) {
    return gen<std::string, void, std::string>(
        [&sub, &log](yielder<std::string>& y) -> std::string {
          try {
            std::string r = y.yield_from(sub);
            log.push_back("outer resumes with " + r);
          } catch (const std::runtime_error& e) {
            log.push_back(std::string("outer caught ") + e.what());
          }
          y.yield("outer-after");
          return "outer done";
        });
  }

  // exit_sub(log, mode): a subgenerator that reacts to generator_exit per
  // `mode` (P5.6, P5.7).
  static gen<int, void, int> exit_sub(log_t& log, on_exit mode) {
    return gen<int, void, int>([&log, mode](yielder<int>& y) {
      finally_log f{log, "sub finally"};
      try {
        y.yield(1);
        y.yield(2);
      } catch (const green::generator_exit& e) {
        log.push_back("sub " + exit_name(e));
        if (mode == on_exit::yield) {
          y.yield(100);
          log.push_back("sub resumed");
          return 5;
        }
        if (mode == on_exit::raise_other) throw key_error("sub close failure");
        if (mode == on_exit::return_value) return 6;
        throw;
      }
      return 0;
    });
  }

  // chain(depth): depth nested delegations; the innermost yields 0, 1, 2 and
  // returns 0; each level returns 1 + its delegate's result.
  static gen<int, void, int> chain(int depth) {
    return gen<int, void, int>([depth](yielder<int>& y) {
      if (depth == 0) {
        for (int i = 0; i < 3; ++i) y.yield(i);
        return 0;
      }
      return 1 + y.yield_from(chain(depth - 1));
    });
  }

  // hooked_ret(hook, n, r) yields 0 .. n-1 calling hook() before each
  // yield, and returns r.
  static gen<int, void, int> hooked_ret(std::function<void()> hook, int n, int r) {
    return gen<int, void, int>([hook = std::move(hook), n, r](yielder<int>& y) {
      for (int i = 0; i < n; ++i) {
        hook();
        y.yield(i);
      }
      return r;
    });
  }

  // raiser_ret(n) yields 0 .. n-1, then throws runtime_error("boom").
  static gen<int, void, int> raiser_ret(int n) {
    return gen<int, void, int>([n](yielder<int>& y) -> int {
      for (int i = 0; i < n; ++i) y.yield(i);
      throw std::runtime_error("boom");
    });
  }

  // stop_raiser_ret() yields 1, then lets a stop_iteration escape.
  static gen<int, void, int> stop_raiser_ret() {
    return gen<int, void, int>([](yielder<int>& y) -> int {
      y.yield(1);
      throw green::stop_iteration();
    });
  }

  // self_delegator(self): yield_from(*self) (P1.8).
  static gen<int, void, int> self_delegator(gen<int, void, int>** self, log_t& log) {
    return gen<int, void, int>([self, &log](yielder<int>& y) {
      y.yield(1);
      try {
        return y.yield_from(**self);
      } catch (const green::error& e) {
        log.push_back(e.what());
        throw;
      }
    });
  }

  // catching_delegator(sub, log): catches anything raised at yield_from and
  // yields -1 after it, then yields from nothing more.
  static gen<int, void, int> catching_delegator(gen<int, void, int>& sub, log_t& log) {
    return gen<int, void, int>([&sub, &log](yielder<int>& y) {
      try {
        return y.yield_from(sub);
      } catch (const std::exception& e) {
        log.push_back(std::string("outer caught ") + e.what());
      }
      y.yield(-1);
      return -1;
    });
  }

  // ---- pipelines (laziness) ------------------------------------------------

  // map_stage(src, f) yields f(x) for every x of src.
  template <class F>
  static gen<int> map_stage(gen<int>& src, F f) {
    return gen<int>([&src, f](yielder<int>& y) {
      for (int x : src) y.yield(f(x));
    });
  }
  // filter_stage(src, p) yields the x of src with p(x).
  template <class P>
  static gen<int> filter_stage(gen<int>& src, P p) {
    return gen<int>([&src, p](yielder<int>& y) {
      for (int x : src)
        if (p(x)) y.yield(x);
    });
  }
  // zip_stage(a, b) yields a[i] * 1000 + b[i] until one ends.
  static gen<int> zip_stage(gen<int>& a, gen<int>& b) {
    return gen<int>([&a, &b](yielder<int>& y) {
      auto ia = a.begin();
      auto ib = b.begin();
      for (; ia != a.end() && ib != b.end(); ++ia, ++ib) y.yield(*ia * 1000 + *ib);
    });
  }
  // counting_source(reads) yields 0, 1, 2, ... forever, counting reads.
  static gen<int> counting_source(int& reads) {
    return gen<int>([&reads](yielder<int>& y) {
      for (int i = 0;; ++i) {
        ++reads;
        y.yield(i);
      }
    });
  }
};

// --------------------------------------------------------------------------
struct stackless {
  static constexpr const char* name = "stackless";
  // A coroutine body runs on its consumer's stack and thread, so it shares
  // the consumer's std::current_exception() (README: differences).
  static constexpr bool isolates_exception_state = false;

  template <class Y, class S = void, class R = void>
  using gen = green::stackless::generator<Y, S, R>;

  static gen<int> counter(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
  }

  static gen<int, void, int> counter_ret(int n, int r) {
    for (int i = 0; i < n; ++i) co_yield i;
    co_return r;
  }

  static gen<std::unique_ptr<int>> unique_values(int n) {
    for (int i = 0; i < n; ++i) co_yield std::make_unique<int>(i);
  }

  static gen<int, void, std::unique_ptr<int>> unique_ret(int n, int r) {
    for (int i = 0; i < n; ++i) co_yield i;
    co_return std::make_unique<int>(r);
  }

  static gen<int, no_default> strict_sink() {
    for (int i = 0; i < 3; ++i) (void)(co_yield i);
  }

  static gen<int, void, std::tuple<int, int>> pair_ret() { co_return std::tuple<int, int>(1, 2); }

  static gen<int> logged(log_t& log) {
    finally_log f{log, "finally"};
    log.push_back("start");
    co_yield 1;
    log.push_back("after 1");
    co_yield 2;
    log.push_back("end");
  }

  static gen<int> hooked(std::function<void()> hook, int n) {
    for (int i = 0; i < n; ++i) {
      hook();
      co_yield i;
    }
  }

  static gen<int> holding(int n) {
    counted outer;
    {
      counted nested;
      for (int i = 0; i < n; ++i) co_yield i;
    }
  }

  static gen<int, int> recorder(std::vector<int>& got) {
    for (int i = 0;; ++i) got.push_back(co_yield i);
  }

  static gen<int, int, int> echo() {
    int v = 0;
    for (;;) {
      v = co_yield v;
      if (v < 0) co_return -v;
    }
  }

  static gen<int, int, int> accumulator() {
    int total = 0;
    for (;;) {
      const int v = co_yield total;
      if (v < 0) co_return total;
      total += v;
    }
  }

  static gen<int> raiser(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
    throw std::runtime_error("boom");
  }

  static gen<std::string, void, std::string> handler(log_t& log, on_throw mode) {
    finally_log f{log, "finally"};
    bool caught = false;
    try {
      co_yield "first";
    } catch (const std::runtime_error& e) {
      log.push_back(std::string("caught ") + e.what());
      if (mode == on_throw::raise) throw;
      caught = true;
    }
    if (caught) {
      if (mode == on_throw::return_value) co_return "handled-return";
      co_yield "caught";
    }
    co_yield "after";
    co_return "end";
  }

  static gen<std::string, void, std::string> exit_handler(log_t& log, on_exit mode) {
    finally_log f{log, "finally"};
    bool caught = false;
    try {
      co_yield "a";
      co_yield "b";
    } catch (const green::generator_exit& e) {
      log.push_back(exit_name(e));
      switch (mode) {
        case on_exit::rethrow:
          throw;
        case on_exit::raise_other:
          throw key_error("during close");
        case on_exit::raise_stop:
          throw green::stop_iteration();
        default:
          caught = true;
      }
    }
    if (caught) {
      if (mode == on_exit::return_value) co_return "closing-value";
      co_yield "ignored";
      log.push_back("resumed");
      co_return "after-ignore";
    }
    co_return "end";
  }

  static gen<int, void, int> catch_all_return(log_t& log) {
    try {
      co_yield 1;
      co_yield 2;
    } catch (...) {
      log.push_back("swallowed");
      co_return 7;
    }
    co_return 0;
  }

  static gen<int> stop_raiser() {
    co_yield 1;
    throw green::stop_iteration();
  }

  static gen<int> next_on_exhausted() {
    gen<int> inner = counter(0);
    co_yield 1;
    co_yield inner.next();
  }

  static gen<int> raise_out_of_range() {
    co_yield 1;
    throw std::out_of_range("not a stop");
  }

  static gen<int> current_exception_probe(std::vector<bool>& seen) {
    seen.push_back(static_cast<bool>(std::current_exception()));
    co_yield 1;
    seen.push_back(static_cast<bool>(std::current_exception()));
    co_yield 2;
  }

  // ---- delegation ----------------------------------------------------------

  static gen<int, void, int> delegator(gen<int, void, int>& sub, log_t& log) {
    log.push_back("outer start");
    const int r = co_yield green::stackless::yield_from(sub);
    log.push_back("outer got " + std::to_string(r));
    co_return r + 1;
  }

  static gen<int, void, int> delegator_owned(int n, int r) {
    co_return co_yield green::stackless::yield_from(counter_ret(n, r));
  }

  static gen<int, void, int> twice(gen<int, void, int>& a, gen<int, void, int>& b) {
    const int ra = co_yield green::stackless::yield_from(a);
    const int rb = co_yield green::stackless::yield_from(b);
    co_return ra + rb;
  }

  static gen<int, int, int> send_delegator(gen<int, int, int>& sub) {
    co_return co_yield green::stackless::yield_from(sub);
  }

  static gen<int, int, int> range_delegator(std::vector<int> values, log_t& log) {
    finally_log f{log, "outer finally"};
    try {
      co_yield green::stackless::yield_from(values);
    } catch (const green::error& e) {
      log.push_back(std::string("outer caught error: ") + e.what());
      throw;
    } catch (const std::runtime_error& e) {
      log.push_back(std::string("outer caught ") + e.what());
      throw;
    } catch (const green::generator_exit&) {
      log.push_back("outer generator_exit");
      throw;
    }
    co_yield -1;
    co_return static_cast<int>(values.size());
  }

  template <class It>
  static gen<int> iter_delegator(It first, It last) {
    co_yield green::stackless::yield_from(first, last);
  }

  static gen<int, void, int> sub_logging(log_t& log) {
    finally_log f{log, "sub finally"};
    try {
      co_yield 1;
      co_yield 2;
    } catch (const green::generator_exit& e) {
      log.push_back("sub " + exit_name(e));
      throw;
    }
    co_return 99;
  }

  static gen<int, void, int> outer_logging(gen<int, void, int>& sub, log_t& log) {
    finally_log f{log, "outer finally"};
    try {
      co_return co_yield green::stackless::yield_from(sub);
    } catch (const green::generator_exit& e) {
      log.push_back("outer " + exit_name(e));
      throw;
    } catch (const std::exception& e) {
      log.push_back(std::string("outer caught ") + e.what());
      throw;
    }
  }

  static gen<std::string, void, std::string> throw_sub(log_t& log, on_throw mode) {
    finally_log f{log, "sub finally"};
    bool caught = false;
    try {
      co_yield "sub-1";
    } catch (const std::runtime_error& e) {
      log.push_back(std::string("sub caught ") + e.what());
      if (mode == on_throw::raise) throw;
      caught = true;
    }
    if (caught) {
      if (mode == on_throw::return_value) co_return "sub handled";
      co_yield "sub caught";
    }
    co_yield "sub-2";
    co_return "sub done";
  }

  static gen<std::string, void, std::string> throw_outer(gen<std::string, void, std::string>& sub,
                                                         log_t& log) {
    try {
      std::string r = co_yield green::stackless::yield_from(sub);
      log.push_back("outer resumes with " + r);
    } catch (const std::runtime_error& e) {
      log.push_back(std::string("outer caught ") + e.what());
    }
    co_yield "outer-after";
    co_return "outer done";
  }

  static gen<int, void, int> exit_sub(log_t& log, on_exit mode) {
    finally_log f{log, "sub finally"};
    bool caught = false;
    try {
      co_yield 1;
      co_yield 2;
    } catch (const green::generator_exit& e) {
      log.push_back("sub " + exit_name(e));
      if (mode == on_exit::raise_other) throw key_error("sub close failure");
      if (mode != on_exit::yield && mode != on_exit::return_value) throw;
      caught = true;
    }
    if (caught) {
      if (mode == on_exit::return_value) co_return 6;
      co_yield 100;
      log.push_back("sub resumed");
      co_return 5;
    }
    co_return 0;
  }

  static gen<int, void, int> chain(int depth) {
    if (depth == 0) {
      for (int i = 0; i < 3; ++i) co_yield i;
      co_return 0;
    }
    co_return 1 + (co_yield green::stackless::yield_from(chain(depth - 1)));
  }

  static gen<int, void, int> hooked_ret(std::function<void()> hook, int n, int r) {
    for (int i = 0; i < n; ++i) {
      hook();
      co_yield i;
    }
    co_return r;
  }

  static gen<int, void, int> raiser_ret(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
    throw std::runtime_error("boom");
  }

  static gen<int, void, int> stop_raiser_ret() {
    co_yield 1;
    throw green::stop_iteration();
  }

  static gen<int, void, int> self_delegator(gen<int, void, int>** self, log_t& log) {
    co_yield 1;
    try {
      co_return co_yield green::stackless::yield_from(**self);
    } catch (const green::error& e) {
      log.push_back(e.what());
      throw;
    }
  }

  static gen<int, void, int> catching_delegator(gen<int, void, int>& sub, log_t& log) {
    try {
      co_return co_yield green::stackless::yield_from(sub);
    } catch (const std::exception& e) {
      log.push_back(std::string("outer caught ") + e.what());
    }
    co_yield -1;
    co_return -1;
  }

  // ---- pipelines (laziness) ------------------------------------------------

  template <class F>
  static gen<int> map_stage(gen<int>& src, F f) {
    for (int x : src) co_yield f(x);
  }
  template <class P>
  static gen<int> filter_stage(gen<int>& src, P p) {
    for (int x : src)
      if (p(x)) co_yield x;
  }
  static gen<int> zip_stage(gen<int>& a, gen<int>& b) {
    auto ia = a.begin();
    auto ib = b.begin();
    for (; ia != a.end() && ib != b.end(); ++ia, ++ib) co_yield *ia * 1000 + *ib;
  }
  static gen<int> counting_source(int& reads) {
    for (int i = 0;; ++i) {
      ++reads;
      co_yield i;
    }
  }
};

// What every protocol test runs over.
using generator_impls = std::tuple<stackful, stackless>;

// error_text(f) runs f and returns the what() of the green::error it throws,
// or "<no error>" / "<other exception>".
template <class F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const green::error& e) {
    return e.what();
  } catch (...) {
    return "<other exception>";
  }
  return "<no error>";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_GENERATOR_IMPLS_HPP
