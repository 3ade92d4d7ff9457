// green/generator_common.hpp
//
// What the two generator implementations share: the end-of-sequence
// exception, the state enum, the error wording, and the delegation chain that
// makes `yield_from` cost O(1) per item in both.
//
//   green::generator<int> g = ...;              // or green::stackless::generator<int>
//   try { for (;;) use(g.next()); }
//   catch (const green::stop_iteration&) {}     // g.state() == generator_state::closed
//
// Users normally include green/generator.hpp (stackful) or green/stackless.hpp
// (C++20 coroutines); both include this header. Everything in
// green::detail is internal.
//
// Error wording (spec section 4). Each error is the green::error subclass
// named after the Python type (errors.hpp), and each message contains the
// Python phrase, so the spec's rules can be found by grepping for it:
//   "generator already executing"                       (rules 8, 29)
//   "can't send non-void value to a just-started generator"  (rule 3)
//   "generator ignored generator_exit"                  (rules 18, 28)
//   "generator raised stop_iteration"                   (PEP 479: rules 13, 19, 21)
//   "yield outside a generator"                         (genlet scenario 84)

#ifndef GREEN_GENERATOR_COMMON_HPP
#define GREEN_GENERATOR_COMMON_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/greenlet.hpp"

namespace green {

namespace detail {
struct chain_node;
[[noreturn]] GREEN_API void throw_bad_stop_value(const std::type_info& want,
                                                 const std::type_info& have);
}  // namespace detail

// stop_iteration is thrown by next(), send() and throw_() when the generator
// has finished. Range-for stops quietly instead. It is an error-family
// exception: it derives from std::exception.
//
// The return value is given once, as CPython gives StopIteration.value: the
// stop_iteration of the call that saw the body return carries the value
// (has_value(), value<R>()); every later next()/send() on the finished
// generator throws a bare stop_iteration, and so does a body that ended by
// raising, by close(), or without a value (R = void: Python's None).
// result() is not a second delivery but the generator's record of how it
// ended: it keeps the value for as long as the generator exists, which is
// how to read it after a range-for (which swallows the stop) or a close().
//
//   try { use(g.next()); }
//   catch (const green::stop_iteration& s) {
//     if (s.has_value()) total = s.value<int>();   // Python: s.value
//   }
//
// The value is shared with the generator's result(), not copied, so R may be
// move-only and the exception stays cheap and nothrow to copy; it outlives
// the generator. value<T>() gives const access.
//
// A stop_iteration that escapes a generator body is turned into
// green::runtime_error("generator raised stop_iteration"), whose nested
// exception (std::rethrow_if_nested) is the original (PEP 479).
// Python: StopIteration.
class stop_iteration : public std::exception {
 public:
  stop_iteration() noexcept = default;
  const char* what() const noexcept override { return "generator finished (stop_iteration)"; }

  // has_value(): this stop ended the call that saw the body return a value.
  bool has_value() const noexcept { return value_ != nullptr; }
  // type() is typeid of the carried value, typeid(void) when there is none.
  const std::type_info& type() const noexcept { return value_ ? *type_ : typeid(void); }
  // value<T>() is the returned value. Throws: type_error if there is none or
  // T is not the generator's R (the message names both types).
  template <class T>
  const T& value() const {
    if (const T* v = get_if<T>()) return *v;
    detail::throw_bad_stop_value(typeid(T), type());
  }
  // get_if<T>() points at the returned value, or is null if there is none or
  // T is not the generator's R.
  template <class T>
  const T* get_if() const noexcept {
    if (!value_ || *type_ != typeid(T)) return nullptr;
    return static_cast<const T*>(value_.get());
  }

 private:
  friend struct detail::chain_node;
  stop_iteration(std::shared_ptr<const void> v, const std::type_info* t) noexcept
      : value_(std::move(v)), type_(t) {}
  std::shared_ptr<const void> value_;
  const std::type_info* type_ = nullptr;
};

// generator_state is what state() reports.
// Python: inspect.getgeneratorstate() -> GEN_CREATED, GEN_RUNNING,
// GEN_SUSPENDED, GEN_CLOSED.
enum class generator_state : std::uint8_t {
  created,    // nothing has run yet
  running,    // executing now (also a delegator whose delegate is executing)
  suspended,  // paused at a yield (or inside yield_from)
  closed,     // returned, raised, or closed; its stack/frame is gone
};

namespace detail {

// ---------------------------------------------------------------------------
// Error wording. Cold, out of the hot paths; inline so that the header-only
// stackless generator can use them.

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_already_executing() {
  throw value_error(
      "generator already executing: next(), send(), throw_() and close() cannot be called on a "
      "generator (or one it delegates to) from inside its own body; drive it from outside "
      "(Python: ValueError: generator already executing)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_send_to_unstarted() {
  throw type_error(
      "can't send non-void value to a just-started generator: call next() first to run it to "
      "its first yield, then send() (Python: TypeError: can't send non-None value to a "
      "just-started generator)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_empty_exception() {
  throw type_error(
      "throw_(): the exception_ptr is empty; pass an exception object or a non-empty "
      "std::exception_ptr (Python: TypeError: exceptions must be classes or instances deriving "
      "from BaseException)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_no_default_send() {
  throw type_error(
      "next() on a started generator whose send type has no default value: the pending yield "
      "must return an S, so use send(value) instead");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_range_has_no_send() {
  throw attribute_error(
      "yield_from(range): the range has no send(); while a generator delegates to a plain C++ "
      "range, resume it with next() (Python: AttributeError: 'list_iterator' object has no "
      "attribute 'send')");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_delegated_twice() {
  throw value_error(
      "yield_from(): this generator is already being delegated to by another generator's "
      "yield_from; a generator can have one delegator at a time (finish or close the other "
      "delegation first)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_no_result() {
  throw value_error(
      "result(): the generator has not returned a value (it is not finished, it raised, or it "
      "was closed before returning); result() is valid after next()/send()/throw_() threw "
      "stop_iteration");
}

// ignored_exit() is the exception close() reports when a body yields after
// generator_exit (rules 18 and 28).
[[gnu::cold, gnu::noinline]] inline std::exception_ptr ignored_exit() {
  return std::make_exception_ptr(runtime_error(
      "generator ignored generator_exit: the body yielded after close() threw generator_exit "
      "at its yield; catch generator_exit only to clean up, then rethrow or return (Python: "
      "RuntimeError: generator ignored GeneratorExit)"));
}

// pep479() turns a stop_iteration that is escaping a generator body into an
// error whose nested exception is the stop_iteration (PEP 479). Call it from
// inside the catch handler of that stop_iteration.
[[gnu::cold, gnu::noinline]] inline std::exception_ptr pep479() {
  try {
    std::throw_with_nested(runtime_error(
        "generator raised stop_iteration: a stop_iteration escaped the generator body (for "
        "example next() on a finished generator inside it); catch it in the body, or return "
        "to end the generator (Python: RuntimeError: generator raised StopIteration)"));
  } catch (...) {
    return std::current_exception();
  }
}

[[gnu::cold, gnu::noinline]] inline bool is_generator_exit(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const generator_exit&) {
    return true;
  } catch (...) {
    return false;
  }
}

[[gnu::cold, gnu::noinline]] inline bool is_stop_iteration(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const stop_iteration&) {
    return true;
  } catch (...) {
    return false;
  }
}

[[gnu::cold, gnu::noinline]] inline std::exception_ptr new_generator_exit() {
  return std::make_exception_ptr(generator_exit{});
}

// report_unraisable() passes an exception that has nowhere to go (a
// generator destructor must not throw, rule 31) to green's unraisable hook,
// which prints it to stderr if no hook is set.
[[gnu::cold, gnu::noinline]] inline void report_unraisable(std::exception_ptr e,
                                                           const char* what) noexcept {
  green::report_unraisable(std::move(e), getcurrent(), what);
}

// ---------------------------------------------------------------------------
// The delegation chain.
//
// A generator that delegates with yield_from is linked to its delegate, so a
// chain of delegations A -> B -> C is a linked list, A at the top and C, the
// innermost, at the bottom ("leaf"). The chain's bookkeeping lives in the top
// node, and every node points at the top. That gives O(1) per item at any
// depth:
//   * next()/send()/throw_()/close() on any node of a chain resumes the leaf
//     directly (top->leaf), and the leaf's yield hands its value straight to
//     whoever called the operation (the "entry"); the levels in between do
//     not run at all.
//   * Linking a fresh delegate and unlinking a finished one touch O(1) nodes.
//     Only re-linking a whole suspended chain (yield_from on a generator that
//     is itself delegating) walks that chain, once.
// Send, throw and close still follow PEP 380's forwarding order because the
// leaf is exactly where CPython's nested yield-from calls would arrive, and a
// finished delegate resumes its delegator with its result or exception.
// close()/throw_(generator_exit) are the exception: each level closes the
// level below, so for those the nodes under the entry are marked
// (`via_close`) and a delegate that finishes or yields reports to its own
// delegator as CPython's sub.close() would (rules 27 and 28). Close is O(d)
// because every level's handlers run anyway.
//
// Node states: `status` only distinguishes created / started / closed. Whether
// a node is running follows from the chain: an operation is in progress on
// the chain (top->active) and the node sits between the entry and the leaf.

enum class gen_op : std::uint8_t { next, send, throw_ };
// returned: the entry's body returned during this operation (its stop
// carries the value); exhausted: it had finished before (a bare stop).
enum class gen_outcome : std::uint8_t { pending, yielded, returned, raised, exhausted };
enum class node_state : std::uint8_t { created, started, closed };
// Why a node parked in yield_from was resumed.
enum class wake_reason : std::uint8_t {
  op,            // an operation reached it as the leaf (its delegate is gone)
  sub_finished,  // its delegate returned or raised
  exc,           // raise wake_exc at the yield_from (a delegate ignored close,
                 // or the delegate is executing elsewhere: rule 29)
};

struct chain_node {
  chain_node() = default;
  chain_node(const chain_node&) = delete;
  chain_node& operator=(const chain_node&) = delete;

  // --- hot: the operation in progress (meaningful in the top node) ---------
  void* io = nullptr;       // S* sent in, then Y* yielded out
  chain_node* top = this;   // top of the chain this node is in
  chain_node* leaf = this;  // (top) the innermost node
  // (top) leaf->frame, so that resuming the leaf costs one load.
  void* leaf_frame = nullptr;
  chain_node* entry = nullptr;                 // (top) the node whose operation runs
  gen_op op = gen_op::next;                    // (top) what the leaf receives
  gen_outcome outcome = gen_outcome::pending;  // (top) what the entry produced
  bool closing = false;                        // (top) close is being forwarded down
  bool active = false;                         // (top) an operation is in progress
  // gate: status != started. A created or closed node is always the top of
  // its own chain, so `top->active || top->gate` is the consumer's one test
  // for "not the fast path". It follows `active` so that busy() tests both
  // with one 16-bit load.
  bool gate = true;

  // --- per node -------------------------------------------------------------
  node_state status = node_state::created;
  wake_reason wake = wake_reason::op;
  bool via_close = false;          // this op closed it through its delegator
  bool in_yield_from = false;      // parked in yield_from (gi_yieldfrom)
  bool has_result = false;         // returned a value (result() is valid)
  std::uint32_t depth = 0;         // distance from the top
  chain_node* outer = nullptr;     // its delegator, if linked
  chain_node* delegate = nullptr;  // its delegate, if linked
  void* frame = nullptr;           // a stackless generator's coroutine frame
  std::exception_ptr exc;          // what the body raised (after closing)
  std::exception_ptr wake_exc;     // for wake_reason::exc
  // (top) the exception the leaf receives on gen_op::throw_, and the one the
  // entry's level receives when a closed delegate finishes.
  std::exception_ptr leaf_exc;
  std::exception_ptr entry_exc;
  // The body's return value (an R), shared with the stop_iteration that
  // reports it; null for R = void and until the body returns.
  std::shared_ptr<void> result;
  const std::type_info* result_type = nullptr;

  template <class R>
  void store_result(std::shared_ptr<R> r) noexcept {
    result_type = &typeid(R);
    // A const R is stored as is; result() and the stop only read it.
    result = std::const_pointer_cast<std::remove_cv_t<R>>(std::move(r));
    has_result = true;
  }
  template <class R>
  R& result_ref() const noexcept {
    return *static_cast<R*>(result.get());
  }
  // throw_stop() throws the stop_iteration of an operation that ended with
  // `o` (returned or exhausted): only the call that saw the return carries
  // the value.
  [[noreturn, gnu::cold, gnu::noinline]] void throw_stop(gen_outcome o) const {
    if (o == gen_outcome::returned && result) throw stop_iteration(result, result_type);
    throw stop_iteration();
  }

  void set_status(node_state s) noexcept {
    status = s;
    gate = s != node_state::started;
  }
  // slow_path() is true unless this node is started and its chain idle.
  bool slow_path() const noexcept { return top->busy(); }
  // busy(): `active || gate` of this node (meaningful in a top).
  bool busy() const noexcept {
    // Compilers do not merge the two byte loads of `active | gate`.
    static_assert(offsetof(chain_node, gate) == offsetof(chain_node, active) + 1);
    std::uint16_t both;
    std::memcpy(&both, reinterpret_cast<const unsigned char*>(this) + offsetof(chain_node, active),
                sizeof both);
    return both != 0;
  }

  // end_fast_op() ends an operation of a started node that yielded, with one
  // 16-bit store over `active` and `gate` (both false). A byte store of
  // `active` followed by busy()'s 16-bit load at the next operation defeats
  // store-to-load forwarding: on AMD Zen 3 that stall tripled the stackless
  // next() (4.8 ns against 1.7 ns for a minimal C++20 generator).
  void end_fast_op() noexcept {
    const std::uint16_t none = 0;
    std::memcpy(reinterpret_cast<unsigned char*>(this) + offsetof(chain_node, active), &none,
                sizeof none);
  }

  bool is_running() const noexcept {
    const chain_node* t = top;
    return status == node_state::started && t->active && t->entry->depth <= depth;
  }

  generator_state public_state() const noexcept {
    if (status == node_state::created) return generator_state::created;
    if (status == node_state::closed) return generator_state::closed;
    return is_running() ? generator_state::running : generator_state::suspended;
  }

  // begin_op() starts operation `o` on this node as the entry. The caller has
  // checked that the chain is idle and the node is started.
  void begin_op(gen_op o, void* value) noexcept {
    chain_node* t = top;
    t->io = value;
    t->entry = this;
    t->op = o;
    t->outcome = gen_outcome::pending;
    t->active = true;
    t->closing = false;
  }

  // prepare_throw() sets the exceptions of a throw_()/close() operation that
  // begin_op(gen_op::throw_) started. `e` is what the caller threw (close():
  // a fresh generator_exit). With a delegate, generator_exit is not thrown
  // down: every level below the entry is closed by its delegator instead
  // (rule 27), so each gets a fresh generator_exit.
  void prepare_throw(std::exception_ptr e, bool exit) {
    chain_node* t = top;
    t->entry_exc = e;
    if (exit && t->leaf != this) {
      t->closing = true;
      for (chain_node* n = t->leaf; n != this; n = n->outer) n->via_close = true;
      t->leaf_exc = new_generator_exit();
    } else {
      t->leaf_exc = std::move(e);
    }
  }

  // link() makes `sub` (the top of its own, idle chain) the delegate of this
  // node, the leaf of an active chain. Costs the length of sub's chain: 1 for
  // a generator that is not itself delegating.
  void link(chain_node* sub) noexcept {
    chain_node* t = top;
    chain_node* bottom = sub->leaf;
    const std::uint32_t base = depth + 1;
    for (chain_node* n = sub; n != nullptr; n = n->delegate) {
      n->top = t;
      n->depth += base;
      n->via_close = false;
    }
    delegate = sub;
    sub->outer = this;
    t->leaf = bottom;
    t->leaf_frame = bottom->frame;
  }

  // detach() cuts this node and the nodes below it off its delegator; they
  // become a chain of their own with this node on top (idle). The delegator
  // becomes the leaf of the old chain. Costs the number of nodes cut off: 1
  // for a finished leaf.
  void detach() noexcept {
    chain_node* t = top;
    chain_node* o = outer;
    chain_node* bottom = t->leaf;
    const std::uint32_t base = depth;
    for (chain_node* n = this; n != nullptr; n = n->delegate) {
      n->top = this;
      n->depth -= base;
    }
    o->delegate = nullptr;
    outer = nullptr;
    leaf = bottom;
    leaf_frame = bottom->frame;
    active = false;
    closing = false;
    entry = nullptr;
    t->leaf = o;
    t->leaf_frame = o->frame;
  }

  // take_op() moves the operation in progress from `from` (a former top) to
  // this node (the new top after detach()).
  void take_op(chain_node* from) noexcept {
    io = from->io;
    entry = from->entry;
    op = from->op;
    outcome = from->outcome;
    active = from->active;
    closing = from->closing;
    leaf_exc = std::move(from->leaf_exc);
    entry_exc = std::move(from->entry_exc);
    from->active = false;
    from->closing = false;
    from->entry = nullptr;
  }

  // ignoring_node() finds, when the leaf yields while close is forwarded
  // down, the node whose close() that yield defeats: the lowest node from
  // the leaf up (not the entry) that its delegator closed. Null: the yield
  // goes to the caller.
  chain_node* ignoring_node() noexcept {
    chain_node* e = top->entry;
    for (chain_node* n = this; n != e; n = n->outer) {
      if (n->via_close) return n;
    }
    return nullptr;
  }
};

// chain_iterator is the input iterator of both generators over their
// remaining values; it ends quietly when the body returns. `Node` is the
// generator's chain node (the stackful generator_core or the stackless
// promise): resume_next() runs the body to its next yield, rethrow_end()
// throws what ended it, and top->io then holds the yielded Y*. *it refers to
// the value inside the suspended body, valid until the iterator is
// incremented.
template <class Y, class Node>
class chain_iterator {
 public:
  using value_type = Y;
  using difference_type = std::ptrdiff_t;
  using reference = Y&;

  chain_iterator() = default;
  // Resumes the generator, like next(); used by the generators' begin().
  explicit chain_iterator(Node* node) : node_(node) { advance(); }

  Y& operator*() const noexcept { return *value_; }
  Y* operator->() const noexcept { return value_; }
  chain_iterator& operator++() {
    advance();
    return *this;
  }
  void operator++(int) { advance(); }
  friend bool operator==(const chain_iterator& it, std::default_sentinel_t) noexcept {
    return it.value_ == nullptr;
  }

 private:
  void advance() {
    const gen_outcome o = node_->resume_next();
    if (o == gen_outcome::yielded) [[likely]] {
      value_ = static_cast<Y*>(node_->top->io);
      return;
    }
    value_ = nullptr;
    if (o == gen_outcome::raised) node_->rethrow_end(o);
  }
  Node* node_ = nullptr;
  Y* value_ = nullptr;
};

}  // namespace detail
}  // namespace green

#endif  // GREEN_GENERATOR_COMMON_HPP
