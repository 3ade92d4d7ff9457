// green/generator.hpp
//
// generator<Y, S, R> runs a body on its own greenlet and lets the caller pull
// values from it the way Python does: next(), send(), throw_(), close(), the
// body's return value, and yield_from() inside the body. The body receives a
// yielder& that it may pass to any nested call: yielding from deep inside a
// call stack is what a stackful generator offers over a C++20 coroutine
// (green/stackless.hpp has the coroutine version with the same interface).
//
//   green::generator<int> fib([](green::yielder<int>& y) {
//     for (int a = 0, b = 1;; b = std::exchange(a, b) + b) y.yield(b);
//   });
//   for (int x : fib) { if (x > 100) break; }          // 1 1 2 3 5 ... 89
//
// Rules (Python's generator protocol, docs/semantics.md P1-P8; README "Generators"):
//   * Creating a generator runs nothing. next() runs the body to its next
//     yield(); send(v) does too and makes the pending yield() return v.
//   * End of sequence: next()/send()/throw_() throw green::stop_iteration;
//     the one thrown by the call that saw the body return carries the value
//     (later ones are bare, as in CPython), and result() keeps it. Range-for
//     stops quietly.
//   * yield_from(sub) delegates to another generator (PEP 380): values, send,
//     throw_ and close pass through at O(1) per item, at any depth. It also
//     accepts any C++ range or iterator pair (a sub-iterator without send).
//   * A generator belongs to the thread that first runs it; it can be
//     consumed from any greenlet of that thread.
//   * The destructor close()s a suspended generator. It never throws:
//     problems go to green's unraisable hook (default: stderr).

#ifndef GREEN_GENERATOR_HPP
#define GREEN_GENERATOR_HPP

#include <concepts>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "green/config.hpp"
#include "green/detail/generator_protocol.hpp"
#include "green/errors.hpp"
#include "green/generator_common.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"

namespace green {

template <class Y, class S = void, class R = void>
class generator;
template <class Y, class S = void>
class yielder;

namespace detail {

template <class T>
struct is_stackful_generator : std::false_type {};
template <class Y, class S, class R>
struct is_stackful_generator<generator<Y, S, R>> : std::true_type {};

// generator_core is the type-erased stackful generator: the shared protocol
// (detail/generator_protocol.hpp) resumed by switching greenlets
// (adapters/generator/generator_core.cpp). The templates below only move
// typed values in and out of the slot `io` and call into it.
class GREEN_API generator_core : public protocol<generator_core> {
 public:
  generator_core(const generator_core&) = delete;
  generator_core& operator=(const generator_core&) = delete;

  // --- consumer side; each runs one operation with this node as the entry.
  // resume_*() return the outcome: yielded (the value is at top->io),
  // returned or raised are turned into exceptions by the caller.
  //
  // The per-item paths (resume_next/resume_send here, yield_ on the body
  // side) are inline so that the switch happens in the caller's own frame:
  // see detail::switch_out(). Everything else is in the library.
  gen_outcome resume_next() {
    if (__builtin_expect(slow_path(), 0)) return resume_next_slow();
    begin_op(gen_op::next, nullptr);
    return enter_leaf();
  }
  gen_outcome resume_send(void* value) {
    if (__builtin_expect(slow_path(), 0)) return resume_send_slow(value);
    begin_op(gen_op::send, value);
    return enter_leaf();
  }
  gen_outcome resume_throw(std::exception_ptr e);
  void close();
  // destroy() is the destructor: close() if suspended, report, free.
  void destroy() noexcept;
  // rethrow_end() throws for a finished operation: stop_iteration, or the
  // exception the body raised.
  [[noreturn]] void rethrow_end(gen_outcome o);

  // --- body side.
  // yield_() parks the body with `value` in the slot and returns the S* of a
  // send() (null for next()). `sendable` is false inside yield_from(range).
  void* yield_(void* value, bool sendable = true) {
    auto* t = static_cast<generator_core*>(top);
    if (__builtin_expect(
            !t->active || t->leaf != this || t->closing || killing_ || t->consumer_ == nullptr,
            0)) {
      return yield_slow(value, sendable);
    }
    t->io = value;
    t->outcome = gen_outcome::yielded;
    t->active = false;
    // Parks: resume_ becomes this greenlet, what getcurrent() returns (a
    // body runs in a greenlet, so its thread's green state exists).
    switch_in_void(switch_out_noting(t->consumer_->native_handle(), &resume_));
    return woke(sendable);
  }
  // yield_from_() delegates to `sub` until it finishes. Returns true if sub
  // returned a value (read it from sub), false if sub was already finished
  // (Python's None).
  bool yield_from_(generator_core& sub);
  // range_scope marks yield_from(range) for delegating().
  void begin_range() noexcept;
  void end_range() noexcept;

  generator_state state() const noexcept { return public_state(); }
  bool started() const noexcept { return status != node_state::created; }

 protected:
  explicit generator_core(stack_options stack) noexcept;
  virtual ~generator_core();
  // run_body() runs the body and stores its result (has_result).
  virtual void run_body() = 0;

 private:
  friend class protocol<generator_core>;
  // The protocol's hooks (detail/generator_protocol.hpp).
  void before_op();
  void start_body() { start_fiber(); }
  void begin(gen_op o, void* value) noexcept { begin_op(o, value); }
  // A delegate that ignores close is settled on the body side (yield_slow()).
  gen_outcome enter_leaf_throwing() { return enter_leaf(); }
  static void hand_over(chain_node* to, chain_node* from) noexcept {
    if (to != nullptr)
      static_cast<generator_core*>(to)->consumer_ = static_cast<generator_core*>(from)->consumer_;
    static_cast<generator_core*>(from)->consumer_ = nullptr;
  }

  gen_outcome resume_next_slow();
  gen_outcome resume_send_slow(void* value);

  // enter_leaf() runs the operation that begin_op() set up: it switches to
  // the leaf and returns what the entry produced. The switch records the
  // consumer (what getcurrent() returns here) in consumer_ before it jumps;
  // if consumer_ is still null when the switch throws, the switch was
  // refused before anything ran (the thread's green state is gone) and
  // switch_failed() undoes the operation.
  gen_outcome enter_leaf() {
    auto* t = static_cast<generator_core*>(top);
    t->consumer_ = nullptr;
    try {
      switch_in_void(switch_out_noting(
          static_cast<generator_core*>(t->leaf)->resume_->native_handle(), &t->consumer_));
    } catch (...) {
      switch_failed();
    }
    const gen_outcome out = top->outcome;
    if (__builtin_expect(out == gen_outcome::pending, 0)) unrelated_switch();
    return out;
  }
  // woke() runs when an operation resumes a parked yield.
  void* woke(bool sendable) {
    const gen_op op = top->op;
    if (__builtin_expect(op == gen_op::next, 1)) return nullptr;
    if (__builtin_expect(op == gen_op::send && sendable, 1)) return top->io;
    return woke_slow(sendable);
  }
  void* woke_slow(bool sendable);
  [[noreturn]] void switch_failed();
  [[noreturn]] void unrelated_switch();
  void start_fiber();
  void fiber_main();
  void finish() noexcept;
  void* yield_slow(void* value, bool sendable);

  std::optional<greenlet> fiber_;       // the body's greenlet, once started
  const greenlet* resume_ = nullptr;    // the greenlet parked in our yield
  const greenlet* consumer_ = nullptr;  // (top) the caller of the operation
  const void* owner_ = nullptr;         // the thread that started the fiber
  stack_options stack_;
  bool killing_ = false;  // destroy() is killing the fiber
};

template <class Y, class S, class R, class F>
class generator_frame;

}  // namespace detail

// yielder is the body's side of a generator. The body receives a yielder& and
// may pass it to nested calls, which can then yield too.
template <class Y, class S>
class yielder {
 public:
  yielder(const yielder&) = delete;
  yielder& operator=(const yielder&) = delete;

  // yield() hands `value` to the caller of next()/send()/throw_() and
  // suspends the body. It returns the value of the next send(); after next()
  // it returns S{} (Python: None). With S = void it returns nothing.
  // `value` is passed by address; next() moves it out.
  // Throws: the exception given to throw_(); generator_exit on close();
  //         runtime_error "yield outside a generator" if this generator is not
  //         running, or if it is delegating (yield_from in progress).
  S yield(Y value) {
    void* s = core_->yield_(std::addressof(value));
    if constexpr (!std::is_void_v<S>) {
      if (s != nullptr) return std::move(*static_cast<S*>(s));
      if constexpr (std::is_default_constructible_v<S>) {
        return S{};
      } else {
        detail::throw_no_default_send();
      }
    }
  }

  // yield_from(sub) delegates to another generator until it finishes (PEP
  // 380) and returns its result (R2{} if `sub` had already finished: Python's
  // None). Its values go to our caller, our caller's send/throw_/close go to
  // `sub` (close and throw_(generator_exit) close `sub` first). The values do
  // not pass through this body: a chain of d delegations costs O(1) per item.
  // `sub` may be fresh or partly consumed.
  // Throws: whatever `sub` raises; value_error "generator already executing" if
  //         `sub` is running (for example sub is this generator).
  template <class R2>
  R2 yield_from(generator<Y, S, R2>& sub);
  template <class R2>
  R2 yield_from(generator<Y, S, R2>&& sub) {
    return yield_from(sub);
  }

  // yield_from(range) yields every element of a C++ range (converted to Y),
  // lazily. A range is a sub-iterator without send/throw/close (P5.2,
  // P5.5, P5.6): send() raises an error here, throw_() and close() raise here.
  template <std::ranges::input_range Rg>
  requires(
      !detail::is_stackful_generator<std::remove_cvref_t<Rg>>::value &&
      std::constructible_from<Y, std::ranges::range_reference_t<Rg>>) void yield_from(Rg&& range) {
    yield_from(std::ranges::begin(range), std::ranges::end(range));
  }

  // yield_from(first, last) is yield_from() over an iterator pair.
  template <std::input_iterator It, std::sentinel_for<It> Se>
  requires std::constructible_from<Y, std::iter_reference_t<It>>
  void yield_from(It first, Se last) {
    struct scope {
      detail::generator_core* c;
      ~scope() { c->end_range(); }
    } guard{core_};
    core_->begin_range();
    for (; first != last; ++first) {
      Y item(*first);
      core_->yield_(std::addressof(item), false);
    }
  }

 private:
  template <class, class, class, class>
  friend class detail::generator_frame;
  explicit yielder(detail::generator_core* core) noexcept : core_(core) {}
  detail::generator_core* core_;
};

namespace detail {

template <class Y, class S, class R, class F>
class generator_frame final : public generator_core {
 public:
  template <class G>
  generator_frame(G&& body, stack_options stack)
      : generator_core(stack), body_(std::forward<G>(body)), yielder_(this) {}

 private:
  void run_body() override {
    if constexpr (std::is_void_v<R>) {
      body_(yielder_);
      this->has_result = true;
    } else {
      // Shared: the stop_iteration that reports the return holds it too.
      this->store_result(std::make_shared<R>(body_(yielder_)));
    }
  }
  F body_;
  yielder<Y, S> yielder_;
};

}  // namespace detail

// generator<Y, S, R> is a stackful generator yielding Y, receiving S through
// send() (void: no send()), and returning R.
template <class Y, class S, class R>
class [[nodiscard]] generator {
  static_assert(!std::is_reference_v<Y> && !std::is_void_v<Y>,
                "generator<Y, S, R>: Y must be an object type (yield pointers or "
                "std::reference_wrapper to pass references)");
  static_assert(!std::is_reference_v<S>, "generator<Y, S, R>: S must not be a reference");

 public:
  using value_type = Y;
  using send_type = S;
  using return_type = R;
  // yielder_type is what the body receives: generic code can name a body's
  // parameter as `typename G::yielder_type&` without rebuilding it from Y
  // and S.
  using yielder_type = yielder<Y, S>;

  // generator(body) creates a generator that will run body(yielder&) on its
  // own greenlet (stack from `stack`). Nothing runs until the first next().
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, generator> &&
           std::is_invocable_v<std::decay_t<F>&, yielder<Y, S>&> &&
           (std::is_void_v<R> ||
            std::is_convertible_v<std::invoke_result_t<std::decay_t<F>&, yielder<Y, S>&>,
                                  R>)) explicit generator(F&& body, stack_options stack = {})
      : core_(new detail::generator_frame<Y, S, R, std::decay_t<F>>(std::forward<F>(body), stack)) {
  }

  generator(generator&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      if (core_ != nullptr) core_->destroy();
      core_ = std::exchange(other.core_, nullptr);
    }
    return *this;
  }
  // ~generator() close()s a suspended generator (its handlers and
  // destructors run); an unstarted one is dropped without running anything.
  // Errors go to the unraisable hook. Python: generator finalisation.
  ~generator() {
    if (core_ != nullptr) core_->destroy();
  }

  // next() runs the body to its next yield and returns the value.
  // Throws: stop_iteration when the body returns (carrying R; result() then
  //         holds it too) or had finished (bare); whatever the body raises (the generator is then
  //         closed); value_error "generator already executing" if it is
  //         running.
  // Python: next(g), g.send(None).
  Y next() {
    if constexpr (!std::is_void_v<S> && !std::is_default_constructible_v<S>) {
      if (core_->started()) detail::throw_no_default_send();
    }
    const detail::gen_outcome o = core_->resume_next();
    if (o != detail::gen_outcome::yielded) [[unlikely]]
      core_->rethrow_end(o);
    return std::move(*static_cast<Y*>(core_->top->io));
  }

  // send() resumes the body making the pending yield() return `value`, and
  // returns the next yielded value. Throws: as next(); type_error "can't send
  // non-void value to a just-started generator" before the first next()
  // (the generator is left unchanged). Python: g.send(value).
  template <class T = S>
  requires(!std::is_void_v<T> && std::is_same_v<T, S>) Y send(std::type_identity_t<T> value) {
    const detail::gen_outcome o = core_->resume_send(std::addressof(value));
    if (o != detail::gen_outcome::yielded) [[unlikely]]
      core_->rethrow_end(o);
    return std::move(*static_cast<Y*>(core_->top->io));
  }

  // throw_() raises `e` at the pending yield and returns the next yielded
  // value. On an unstarted generator the body never runs: it is closed and
  // `e` comes back out. A finished one rethrows `e` at once.
  // Throws: stop_iteration if the body returns; `e` or whatever the body
  //         raises instead; type_error if `e` is empty. Python: g.throw(e).
  Y throw_(std::exception_ptr e) {
    const detail::gen_outcome o = core_->resume_throw(std::move(e));
    if (o != detail::gen_outcome::yielded) [[unlikely]]
      core_->rethrow_end(o);
    return std::move(*static_cast<Y*>(core_->top->io));
  }
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>) Y throw_(E&& e) {
    return throw_(std::make_exception_ptr(std::forward<E>(e)));
  }

  // close() raises generator_exit at the pending yield and lets the body
  // unwind. No effect on an unstarted generator (nothing runs) or a finished
  // one. If the body catches generator_exit and returns a value, result()
  // holds it (CPython 3.13 returns it from close(); 3.11 returns None).
  // Throws: runtime_error "generator ignored generator_exit" if the body yields
  //         instead (it stays suspended); anything else the body raises.
  void close() { core_->close(); }

  // state(): created, running, suspended or closed.
  // Python: inspect.getgeneratorstate(g).
  generator_state state() const noexcept { return core_->state(); }
  // running(): executing now, or delegating to a generator that is.
  // Python: g.gi_running.
  bool running() const noexcept { return state() == generator_state::running; }
  // suspended(): paused at a yield. Python: g.gi_suspended.
  bool suspended() const noexcept { return state() == generator_state::suspended; }
  // done(): closed; its stack is gone. Python: g.gi_frame is None.
  bool done() const noexcept { return state() == generator_state::closed; }
  // delegating(): inside yield_from. Python: g.gi_yieldfrom is not None.
  bool delegating() const noexcept { return core_->in_yield_from; }

  // result() is the body's return value, once it returned, for as long as
  // the generator exists, however the end was seen (the stop_iteration that
  // carried the value, a range-for, close(), or a delegator's yield_from,
  // which moves a move-only value out). Unlike the value of stop_iteration,
  // which only the call that saw the return gets, it is a record, not a
  // delivery. Throws: value_error if the body has not returned a value.
  template <class T = R>
  requires(!std::is_void_v<T>) const T& result() const {
    if (!core_->result) detail::throw_no_result();
    return core_->template result_ref<const T>();
  }
  // has_result(): the body has returned (for R = void too).
  bool has_result() const noexcept { return core_->has_result; }

  // iterator is an input iterator over the remaining values; it ends
  // quietly when the body returns (see detail::chain_iterator).
  using iterator = detail::chain_iterator<Y, detail::generator_core>;

  // begin() resumes the generator (like next()); a finished generator gives
  // an empty range.
  iterator begin() { return iterator(core_); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class, class>
  friend class yielder;
  detail::generator_core* core_;
};

template <class Y, class S>
template <class R2>
R2 yielder<Y, S>::yield_from(generator<Y, S, R2>& sub) {
  detail::generator_core* c = sub.core_;
  const bool returned = core_->yield_from_(*c);
  if constexpr (!std::is_void_v<R2>) {
    if (!returned) {
      if constexpr (std::is_default_constructible_v<R2>) {
        return R2{};
      } else {
        detail::throw_no_result();
      }
    }
    R2& result = c->template result_ref<R2>();
    if constexpr (std::is_copy_constructible_v<R2>) {
      return result;
    } else {
      return std::move(result);
    }
  } else {
    (void)returned;
  }
}

}  // namespace green

#endif  // GREEN_GENERATOR_HPP
