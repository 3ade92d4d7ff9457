// Randomized switch / throw / kill / reparent stress test, checked step by
// step against an independent model of greenlet's rules (G3.5 switch
// target selection, G4 how a greenlet ends, G5 throw, G6.3 parent cycles,
// G10 kill on last reference).
//
// Real side: N worker greenlets in slots. A worker's body is a loop that
// reacts to whatever it receives (a value from a switch, or an exception
// thrown at its pending switch):
//   * a program (cmd): execute it -- switch to slot X with a payload, switch
//     to the parent with a payload, return v, throw test_error v, throw
//     greenlet_exit, or throw_() into slot X;
//   * data: append its id to the trail and pass it to its parent;
//   * a greenlet_exit value: pass it to its parent unchanged;
//   * test_error: append its id; even v -> rethrow (it dies, the exception
//     goes to its parent); odd v -> switch (from inside the catch block) to
//     its parent with the data;
//   * greenlet_exit: rethrow (it dies; its parent gets the exit as a value).
// Main picks random actions: switch to a slot with a random program, throw
// into a slot, set_parent (expecting the error on a cycle), or drop a slot's
// handle and put a new worker there (which kills the old one if nothing else
// references it).
//
// Model side: plain C++ state -- per greenlet unstarted/active/dead, parent,
// reference count (slot handle + children's parent links + the temporary
// parent handle a worker holds while suspended in parent()->switch_()) --
// that predicts what main receives, which workers receive what in which
// order (the log), which greenlets are started/dead/alive, their parents,
// how many exist and how many bodies are still on a stack.
#define BOOST_TEST_MODULE greenlet_stress
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "support/fixtures.hpp"

namespace {

constexpr int kSlots = 6;
constexpr int kSteps = 2000;
constexpr unsigned kSeeds[] = {1,   2,   3,   5,   8,   13,   21,   34,   55,   89,
                               144, 233, 377, 610, 987, 1597, 2584, 4181, 6765, 10946};

// ----- what travels ---------------------------------------------------------

struct data {
  int v = 0;
  std::vector<int> trail;
};
struct test_error {
  int v = 0;
  std::vector<int> trail;
};

enum class op { switch_to, to_parent, ret, raise, exit, throw_into };
struct cmd;
using prog = std::shared_ptr<const cmd>;

// A message as the model sees it: a value or an exception arriving somewhere.
struct msg {
  enum kind_t { none, val_data, val_prog, val_exit, exc_error, exc_exit, error } kind = none;
  int v = 0;
  std::vector<int> trail;
  prog p;
  std::string text;  // exit message, or error text
};

struct cmd {
  op kind = op::ret;
  int slot = 0;  // switch_to, throw_into
  int v = 0;     // ret, raise; throw_into: >= 0 test_error{v}, < 0 greenlet_exit
  msg payload;   // switch_to, to_parent: val_data or val_prog
};

msg data_msg(int v, std::vector<int> trail) {
  msg m;
  m.kind = msg::val_data;
  m.v = v;
  m.trail = std::move(trail);
  return m;
}
msg error_msg(int v, std::vector<int> trail) {
  msg m = data_msg(v, std::move(trail));
  m.kind = msg::exc_error;
  return m;
}
msg exit_value(std::string text) {
  msg m;
  m.kind = msg::val_exit;
  m.text = std::move(text);
  return m;
}
msg exit_exception(std::string text) {
  msg m = exit_value(std::move(text));
  m.kind = msg::exc_exit;
  return m;
}

green::value to_value(const msg& m) {
  switch (m.kind) {
    case msg::val_data:
      return data{m.v, m.trail};
    case msg::val_prog:
      return m.p;
    case msg::val_exit:
      return green::greenlet_exit(m.text);
    default:
      return {};
  }
}

msg classify(const green::value& v) {
  msg m;
  if (!v.has_value()) return m;
  if (const auto* d = v.get_if<data>()) return data_msg(d->v, d->trail);
  if (const auto* p = v.get_if<prog>()) {
    m.kind = msg::val_prog;
    m.p = *p;
    return m;
  }
  if (const auto* e = v.get_if<green::greenlet_exit>()) return exit_value(e->message());
  m.kind = msg::error;
  m.text = std::string("unexpected value type ") + v.type().name();
  return m;
}

bool same(const msg& a, const msg& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case msg::val_data:
    case msg::exc_error:
      return a.v == b.v && a.trail == b.trail;
    case msg::val_prog:
      return a.p == b.p;
    case msg::val_exit:
    case msg::exc_exit:
      return a.text == b.text;
    default:
      return true;  // none; error (only the kind is predicted)
  }
}

std::string describe(const msg& m) {
  std::ostringstream s;
  auto trail = [&] {
    s << " trail [";
    for (int t : m.trail) s << ' ' << t;
    s << " ]";
  };
  switch (m.kind) {
    case msg::none:
      s << "nothing";
      break;
    case msg::val_data:
      s << "data " << m.v;
      trail();
      break;
    case msg::val_prog:
      s << "program " << m.p.get();
      break;
    case msg::val_exit:
      s << "greenlet_exit value '" << m.text << "'";
      break;
    case msg::exc_error:
      s << "test_error " << m.v;
      trail();
      break;
    case msg::exc_exit:
      s << "greenlet_exit exception '" << m.text << "'";
      break;
    case msg::error:
      s << "green::error " << m.text;
      break;
  }
  return s.str();
}

// What a worker logs each time it receives something.
enum recv : int { kValProg, kValData, kValExit, kExcError, kExcExit, kValOther };
using log_t = std::vector<std::pair<int, int>>;  // (model id, recv)

std::string describe(const log_t& log) {
  std::ostringstream s;
  for (auto [id, r] : log) s << " (" << id << "," << r << ")";
  return s.str();
}

// ----- the real side --------------------------------------------------------

struct harness {
  std::vector<green::greenlet> slots;
  green::greenlet main = green::getcurrent();
  log_t log;
  int bodies = 0;  // worker bodies currently on a stack
  std::unordered_map<std::uint64_t, int> model_id;

  // Kill the workers while what they write to still exists.
  ~harness() { slots.clear(); }
};

struct incoming {
  green::value val;
  std::exception_ptr exc;
};

template <class F>
incoming call(F&& f) {
  try {
    return {f(), nullptr};
  } catch (...) {
    return {green::value(), std::current_exception()};
  }
}

green::value worker(harness* h, int id, green::value first) {
  struct body_guard {
    harness* h;
    explicit body_guard(harness* hh) : h(hh) { ++h->bodies; }
    ~body_guard() { --h->bodies; }
  } guard(h);
  incoming in{std::move(first), nullptr};
  for (;;) {
    if (in.exc) {
      try {
        std::rethrow_exception(in.exc);
      } catch (test_error& e) {
        h->log.emplace_back(id, kExcError);
        e.trail.push_back(id);
        if (e.v % 2 == 0) throw;  // dies; the parent gets it
        data d{e.v, e.trail};
        // Switches away from inside the catch block.
        in = call([&] { return green::getcurrent().parent()->switch_(d); });
        continue;
      } catch (const green::greenlet_exit&) {
        h->log.emplace_back(id, kExcExit);
        throw;
      }
    }
    if (const auto* d = in.val.get_if<data>()) {
      h->log.emplace_back(id, kValData);
      data fwd = *d;
      fwd.trail.push_back(id);
      in = call([&] { return green::getcurrent().parent()->switch_(fwd); });
    } else if (in.val.get_if<green::greenlet_exit>() != nullptr) {
      h->log.emplace_back(id, kValExit);
      green::value fwd = in.val;
      in = call([&] { return green::getcurrent().parent()->switch_value(fwd); });
    } else if (const auto* p = in.val.get_if<prog>()) {
      h->log.emplace_back(id, kValProg);
      prog c = *p;
      switch (c->kind) {
        case op::switch_to:
          in = call([&] { return h->slots[c->slot].switch_value(to_value(c->payload)); });
          break;
        case op::to_parent:
          in = call(
              [&] { return green::getcurrent().parent()->switch_value(to_value(c->payload)); });
          break;
        case op::ret:
          return data{c->v, {id}};
        case op::raise:
          throw test_error{c->v, {id}};
        case op::exit:
          throw green::greenlet_exit("exit cmd");
        case op::throw_into:
          in = call([&] {
            if (c->v >= 0) return h->slots[c->slot].throw_(test_error{c->v, {}});
            return h->slots[c->slot].throw_(green::greenlet_exit("thrown exit"));
          });
          break;
      }
    } else {
      h->log.emplace_back(id, kValOther);
      return data{-1, {id}};
    }
  }
}

green::greenlet make_worker(harness& h, int id, const green::greenlet& parent) {
  green::greenlet g([hp = &h, id](green::value first) { return worker(hp, id, std::move(first)); },
                    parent);
  h.model_id[g.id()] = id;
  return g;
}

// Main's switch or throw, observed.
template <class F>
msg observe(F&& f) {
  try {
    return classify(f());
  } catch (const test_error& e) {
    return error_msg(e.v, e.trail);
  } catch (const green::greenlet_exit& e) {
    return exit_exception(e.message());
  } catch (const green::error& e) {
    msg m;
    m.kind = msg::error;
    m.text = e.what();
    return m;
  }
}

// ----- the model ------------------------------------------------------------

struct model {
  enum state { unstarted, active, dead };
  struct obj {
    int parent = -1;
    int refs = 0;
    int held = -1;  // temporary parent handle held while suspended in parent()->switch_()
    state st = unstarted;
    bool destroyed = false;
    bool orphaned = false;  // last reference went away while it ran
  };
  struct pending {
    int to;
    msg m;
    bool just_started;
  };

  std::vector<obj> objs;  // objs[0] is main
  std::vector<int> slots;
  log_t log;
  int cur = 0;
  int orphan_events = 0;

  model() {
    obj m;
    m.st = active;
    objs.push_back(m);
  }

  int create(int parent) {
    obj o;
    o.parent = parent;
    objs.push_back(o);
    incref(parent);
    return static_cast<int>(objs.size()) - 1;
  }
  void incref(int o) {
    if (o > 0) ++objs[o].refs;
  }
  void decref(int o) {
    if (o <= 0) return;
    if (--objs[o].refs > 0) return;
    if (o == cur) {
      ++orphan_events;
      objs[o].orphaned = true;  // killed when it next switches away
    } else {
      last_ref_gone(o);
    }
  }
  // G10.1, G10.2: an active greenlet is killed (greenlet_exit at its pending
  // switch; every worker lets it through), others are just freed.
  void last_ref_gone(int o) {
    if (objs[o].st == active) {
      int saved = cur;
      cur = o;
      release_held(o);  // its temporary handle dies while it unwinds
      log.emplace_back(o, kExcExit);
      objs[o].st = dead;
      cur = saved;
    }
    objs[o].destroyed = true;
    decref(objs[o].parent);
  }
  void release_held(int o) {
    int h = objs[o].held;
    if (h >= 0) {
      objs[o].held = -1;
      decref(h);
    }
  }

  // G3.5, G5.1: the target of a switch or throw from `self`.
  pending route(int self, int target, msg m) {
    int t = target;
    if (objs[t].st == dead) {
      if (m.kind == msg::exc_exit) m = exit_value(m.text);  // exit aimed at a dead greenlet
      do t = objs[t].parent;
      while (objs[t].st == dead);
    }
    if (t == self) return {self, m, false};
    bool start = objs[t].st == unstarted;
    if (start) objs[t].st = active;
    return {t, m, start};
  }
  // G4: `w` ends; its result or exception goes up the parent chain.
  pending finish(int w, msg m) {
    objs[w].st = dead;
    int p = objs[w].parent;
    while (objs[p].st == dead) p = objs[p].parent;
    bool start = objs[p].st == unstarted;
    if (start) objs[p].st = active;
    return {p, m, start};
  }
  pending to_parent(int w, msg m) {
    int p = objs[w].parent;
    objs[w].held = p;
    incref(p);
    return route(w, p, m);
  }

  // What worker `w` does with `m` (see the worker() body).
  pending process(int w, msg m, bool just_started) {
    const bool is_exception = m.kind == msg::exc_error || m.kind == msg::exc_exit;
    if (just_started && is_exception) {
      // Started with an exception pending: the body never runs.
      if (m.kind == msg::exc_exit) m = exit_value(m.text);
      return finish(w, m);
    }
    switch (m.kind) {
      case msg::exc_error:
        log.emplace_back(w, kExcError);
        m.trail.push_back(w);
        if (m.v % 2 == 0) return finish(w, m);
        return to_parent(w, data_msg(m.v, m.trail));
      case msg::exc_exit:
        log.emplace_back(w, kExcExit);
        return finish(w, exit_value(m.text));
      case msg::val_data:
        log.emplace_back(w, kValData);
        m.trail.push_back(w);
        return to_parent(w, m);
      case msg::val_exit:
        log.emplace_back(w, kValExit);
        return to_parent(w, m);
      case msg::val_prog: {
        log.emplace_back(w, kValProg);
        const cmd& c = *m.p;
        switch (c.kind) {
          case op::switch_to:
            return route(w, slots[c.slot], c.payload);
          case op::to_parent:
            return to_parent(w, c.payload);
          case op::ret:
            return finish(w, data_msg(c.v, {w}));
          case op::raise:
            return finish(w, error_msg(c.v, {w}));
          case op::exit:
            return finish(w, exit_value("exit cmd"));
          case op::throw_into:
            return route(w, slots[c.slot],
                         c.v >= 0 ? error_msg(c.v, {}) : exit_exception("thrown exit"));
        }
        break;
      }
      default:
        break;
    }
    log.emplace_back(w, kValOther);
    return finish(w, data_msg(-1, {w}));
  }

  // Runs until something reaches main; returns what main receives.
  msg run(pending pd) {
    for (;;) {
      const int w = pd.to;
      if (w != cur) {
        const int prev = cur;
        cur = w;
        if (objs[prev].orphaned) {  // killed (or freed) as the next one arrives
          objs[prev].orphaned = false;
          last_ref_gone(prev);
        }
      }
      if (w == 0) return pd.m;
      release_held(w);
      pd = process(w, pd.m, pd.just_started);
    }
  }

  // Main's actions.
  msg main_switch(int slot, msg m) { return run(route(0, slots[slot], std::move(m))); }
  bool set_parent(int slot, int parent) {
    const int g = slots[slot];
    for (int p = parent; p >= 0; p = objs[p].parent) {
      if (p == g) return false;  // cyclic parent chain
    }
    incref(parent);
    const int old = objs[g].parent;
    objs[g].parent = parent;
    decref(old);
    return true;
  }
  int replace(int slot, int parent) {
    const int n = create(parent);
    objs[n].refs = 1;
    const int old = slots[slot];
    slots[slot] = n;
    decref(old);
    return n;
  }

  std::size_t existing() const {
    std::size_t n = 0;
    for (std::size_t i = 1; i < objs.size(); ++i) n += !objs[i].destroyed;
    return n;
  }
  int bodies() const {
    int n = 0;
    for (std::size_t i = 1; i < objs.size(); ++i) n += objs[i].st == active;
    return n;
  }
};

// ----- random programs ------------------------------------------------------

struct generator {
  std::mt19937 rng;
  explicit generator(unsigned seed) : rng(seed) {}
  int below(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }

  msg payload(int depth) {
    if (depth == 0 || below(10) < 3) return data_msg(below(100), {});
    msg m;
    m.kind = msg::val_prog;
    m.p = std::make_shared<const cmd>(command(depth - 1));
    return m;
  }
  cmd command(int depth) {
    cmd c;
    int r = below(100);
    if (r < 30) {
      c.kind = op::switch_to;
      c.slot = below(kSlots);
      c.payload = payload(depth);
    } else if (r < 45) {
      c.kind = op::to_parent;
      c.payload = payload(depth);
    } else if (r < 60) {
      c.kind = op::ret;
      c.v = below(100);
    } else if (r < 75) {
      c.kind = op::raise;
      c.v = below(100);
    } else if (r < 80) {
      c.kind = op::exit;
    } else {
      c.kind = op::throw_into;
      c.slot = below(kSlots);
      c.v = below(4) == 0 ? -1 : below(100);
    }
    return c;
  }
};

// ----- one seed -------------------------------------------------------------

// Runs one seed; returns an empty string or the first mismatch.
std::string run_seed(unsigned seed) {
  generator gen(seed);
  harness h;
  model m;
  const std::size_t live_base = green::debug::live_greenlets();
  h.model_id[h.main.id()] = 0;
  for (int i = 0; i < kSlots; ++i) {
    const int id = m.create(0);
    m.objs[id].refs = 1;
    m.slots.push_back(id);
    h.slots.push_back(make_worker(h, id, h.main));
  }

  std::ostringstream failure;
  for (int step = 0; step < kSteps; ++step) {
    std::ostringstream what;
    h.log.clear();
    m.log.clear();
    msg real, expected;
    bool compare_result = true;
    const int action = gen.below(100);
    const int x = gen.below(kSlots);
    if (action < 50) {
      msg p = gen.payload(4);
      what << "main switches to slot " << x << " with " << describe(p);
      expected = m.main_switch(x, p);
      real = observe([&] { return h.slots[x].switch_value(to_value(p)); });
    } else if (action < 65) {
      const int v = gen.below(4) == 0 ? -1 : gen.below(100);
      what << "main throws " << (v < 0 ? "greenlet_exit" : "test_error " + std::to_string(v))
           << " into slot " << x;
      expected = m.main_switch(x, v < 0 ? exit_exception("main exit") : error_msg(v, {}));
      real = observe([&] {
        if (v < 0) return h.slots[x].throw_(green::greenlet_exit("main exit"));
        return h.slots[x].throw_(test_error{v, {}});
      });
    } else if (action < 82) {
      const int y = gen.below(kSlots + 1);  // kSlots: main
      what << "main sets the parent of slot " << x << " to "
           << (y == kSlots ? std::string("main") : "slot " + std::to_string(y));
      const bool ok = m.set_parent(x, y == kSlots ? 0 : m.slots[y]);
      expected.kind = ok ? msg::none : msg::error;
      real = observe([&] {
        h.slots[x].set_parent(y == kSlots ? h.main : h.slots[y]);
        return green::value();
      });
      if (real.kind == msg::error && real.text.find("cyclic") == std::string::npos) {
        failure << "set_parent error without 'cyclic': " << real.text;
      }
    } else {
      const int y = gen.below(kSlots + 1);
      what << "main drops slot " << x << " and puts a new worker with parent "
           << (y == kSlots ? std::string("main") : "slot " + std::to_string(y));
      const int id = m.replace(x, y == kSlots ? 0 : m.slots[y]);
      h.slots[x] = make_worker(h, id, y == kSlots ? h.main : h.slots[y]);
      compare_result = false;
    }

    if (compare_result && !same(real, expected)) {
      failure << "main received " << describe(real) << ", model predicts " << describe(expected);
    }
    if (failure.str().empty() && h.log != m.log) {
      failure << "receptions" << describe(h.log) << ", model predicts" << describe(m.log);
    }
    for (int s = 0; s < kSlots && failure.str().empty(); ++s) {
      const green::greenlet& g = h.slots[s];
      const model::obj& o = m.objs[m.slots[s]];
      const bool started = o.st != model::unstarted;
      const bool dead = o.st == model::dead;
      if (g.started() != started || g.dead() != dead ||
          static_cast<bool>(g) != (o.st == model::active)) {
        failure << "slot " << s << " (model id " << m.slots[s] << "): started " << g.started()
                << " dead " << g.dead() << ", model predicts started " << started << " dead "
                << dead;
        break;
      }
      const std::optional<green::greenlet> p = g.parent();
      const int real_parent = p ? (p->is_main() ? 0 : h.model_id.at(p->id())) : -1;
      if (real_parent != o.parent) {
        failure << "slot " << s << ": parent is model id " << real_parent << ", model predicts "
                << o.parent;
      }
    }
    if (failure.str().empty() && green::debug::live_greenlets() - live_base != m.existing()) {
      failure << "live greenlets " << green::debug::live_greenlets() - live_base
              << ", model predicts " << m.existing();
    }
    if (failure.str().empty() && h.bodies != m.bodies()) {
      failure << "worker bodies on a stack " << h.bodies << ", model predicts " << m.bodies();
    }
    if (!failure.str().empty()) {
      std::ostringstream out;
      out << "seed " << seed << " step " << step << " (" << what.str() << "): " << failure.str();
      return out.str();
    }
  }

  // Drop everything: every greenlet goes away and every body unwinds.
  h.slots.clear();
  if (green::debug::live_greenlets() != live_base || h.bodies != 0) {
    std::ostringstream out;
    out << "seed " << seed << " teardown: " << green::debug::live_greenlets() - live_base
        << " greenlets and " << h.bodies << " bodies left";
    return out.str();
  }
  return {};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_stress, green::test::leak_check)

// G3-G6 and G10 under random switch/throw/kill/reparent sequences:
// 20 fixed seeds x 2000 steps, each step compared with the model.
BOOST_AUTO_TEST_CASE(random_switch_throw_kill_sequences_match_model) {
  int failed = 0;
  for (unsigned seed : kSeeds) {
    const std::string problem = run_seed(seed);
    if (!problem.empty()) {
      ++failed;
      BOOST_ERROR(problem);
    }
  }
  BOOST_TEST(failed == 0);
}

// The model is not vacuous: over all seeds every kind of event happens.
BOOST_AUTO_TEST_CASE(random_sequences_exercise_every_rule) {
  int kills = 0, forwards_through_dead = 0, cycles = 0, starts_with_exception = 0;
  int exits_as_values = 0, orphans = 0;
  for (unsigned seed : kSeeds) {
    generator gen(seed);
    model m;
    for (int i = 0; i < kSlots; ++i) {
      const int id = m.create(0);
      m.objs[id].refs = 1;
      m.slots.push_back(id);
    }
    for (int step = 0; step < kSteps; ++step) {
      m.log.clear();
      const int action = gen.below(100);
      const int x = gen.below(kSlots);
      const bool target_dead = m.objs[m.slots[x]].st == model::dead;
      const bool target_unstarted = m.objs[m.slots[x]].st == model::unstarted;
      msg r;
      if (action < 50) {
        msg p = gen.payload(4);
        r = m.main_switch(x, p);
        forwards_through_dead += target_dead;
      } else if (action < 65) {
        const int v = gen.below(4) == 0 ? -1 : gen.below(100);
        r = m.main_switch(x, v < 0 ? exit_exception("main exit") : error_msg(v, {}));
        starts_with_exception += target_unstarted;
      } else if (action < 82) {
        const int y = gen.below(kSlots + 1);
        cycles += !m.set_parent(x, y == kSlots ? 0 : m.slots[y]);
      } else {
        const int y = gen.below(kSlots + 1);
        m.replace(x, y == kSlots ? 0 : m.slots[y]);
      }
      exits_as_values += r.kind == msg::val_exit;
      for (auto [id, what] : m.log) kills += what == kExcExit;
    }
    orphans += m.orphan_events;
  }
  BOOST_TEST_MESSAGE("kills/exits " << kills << ", forwards through dead " << forwards_through_dead
                                    << ", cycles refused " << cycles << ", throws into unstarted "
                                    << starts_with_exception << ", exits as values "
                                    << exits_as_values << ", orphaned while running " << orphans);
  BOOST_TEST(kills > 0);
  BOOST_TEST(forwards_through_dead > 0);
  BOOST_TEST(cycles > 0);
  BOOST_TEST(starts_with_exception > 0);
  BOOST_TEST(exits_as_values > 0);
}

BOOST_AUTO_TEST_SUITE_END()
