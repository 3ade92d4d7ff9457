// green/stackless.hpp
//
// green::stackless::generator<Y, S, R> is the C++20-coroutine twin of
// green::generator: the same consumer interface (next, send, throw_, close,
// result, range-for, state) and the same Python semantics, but the body is a
// coroutine, so it can only yield from the body itself, not from functions it
// calls. Header-only; it needs no stack of its own.
//
//   green::stackless::generator<int, void, int> count(int n) {
//     for (int i = 0; i < n; ++i) co_yield i;
//     co_return n;
//   }
//   int total = co_yield green::stackless::yield_from(count(3));  // in a body
//
// Rules (docs/semantics.md P1-P9; README "Generators" lists the differences from the
// stackful generator):
//   * Nothing runs until the first next(). `co_yield v` returns the value of
//     the next send() (S{} after next()); `co_return r` ends with result r.
//   * `co_yield green::stackless::yield_from(sub)` delegates to another
//     stackless generator (PEP 380) and evaluates to its result; values,
//     send, throw_ and close pass through at O(1) per item at any depth (the
//     consumer resumes the innermost coroutine directly; finishing delegates
//     hand control back by symmetric transfer). yield_from(range) and
//     yield_from(first, last) take any C++ range (a sub-iterator without
//     send/throw/close).
//   * co_await is not available in a generator body.
//   * The destructor close()s a suspended generator, reports errors to the
//     unraisable hook, then destroys the frame. It never throws.

#ifndef GREEN_STACKLESS_HPP
#define GREEN_STACKLESS_HPP

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "green/detail/generator_protocol.hpp"
#include "green/errors.hpp"
#include "green/generator_common.hpp"

namespace green::stackless {

template <class Y, class S = void, class R = void>
class generator;

namespace detail {

using green::detail::chain_node;
using green::detail::gen_op;
using green::detail::gen_outcome;
using green::detail::node_state;
using green::detail::wake_reason;

template <class T>
struct is_stackless_generator : std::false_type {};
template <class Y, class S, class R>
struct is_stackless_generator<generator<Y, S, R>> : std::true_type {};

// promise_base is the type-erased part of every promise: a node of the
// delegation chain (whose `frame` is the coroutine's) that runs the shared
// protocol (detail/generator_protocol.hpp) by resuming coroutines.
struct promise_base : green::detail::protocol<promise_base> {
  bool plain_iter = false;  // the helper of yield_from(range): no send, no PEP 479

  static promise_base* of(chain_node* n) noexcept { return static_cast<promise_base*>(n); }

  // --- consumer side -------------------------------------------------------

  // start_op() begins operation `o` with this node as the entry. The
  // outcome is "yielded" unless the entry finishes (final_transfer()).
  void start_op(gen_op o, void* value) noexcept {
    chain_node* t = top;
    if (o == gen_op::send) t->io = value;
    // `entry` matters only while `active` (it is left stale when idle), and
    // a consumer usually drives the same node: skip the store.
    if (t->entry != this) [[unlikely]]
      t->entry = this;
    t->op = o;
    t->outcome = gen_outcome::yielded;
    t->active = true;
    t->closing = false;
  }

  // enter_leaf() runs the operation start_op() set up: resume the leaf;
  // control comes back when the entry yields or finishes. A yield does no
  // bookkeeping of its own: nothing runs between it and this return, so the
  // operation is marked over here.
  gen_outcome enter_leaf() {
    std::coroutine_handle<>::from_address(top->leaf_frame).resume();
    chain_node* t = top;
    t->active = false;
    return t->outcome;
  }

  // The fast path of next()/send() and of the iterator: this node is the
  // top of its chain (usually true: consumers drive the outermost
  // generator), started and idle. Then it is still the top when control
  // comes back: nothing above it can cut it off, and it only leaves a chain
  // it is below. So neither the test nor the end of the operation reads
  // `top`. Everything else goes out of line.
  bool fast_path() const noexcept { return top == this && !busy(); }

  // run_top() runs operation `o` on the fast path and returns the yielded
  // Y*, or null if this node finished (final_transfer() clears io), so that
  // one test of the pointer stands for the outcome.
  void* run_top(gen_op o, void* value) {
    // start_op() with top == this spelled out (the compiler does not carry
    // the equality over).
    if (o == gen_op::send) io = value;
    if (entry != this) [[unlikely]]
      entry = this;
    op = o;
    outcome = gen_outcome::yielded;
    active = true;
    closing = false;
    std::coroutine_handle<>::from_address(leaf_frame).resume();
    // A finish cleared io and `active` itself (final_transfer()); a yield
    // left this node started, so `gate` is false too.
    void* v = io;
    if (v != nullptr) [[likely]]
      end_fast_op();
    return v;
  }

  // resume_yield() is next()/send(): the yielded Y*, or it throws what ended
  // the generator.
  void* resume_yield(gen_op o, void* value) {
    if (!fast_path()) [[unlikely]]
      return resume_slow(o, value);
    void* v = run_top(o, value);
    if (v == nullptr) [[unlikely]]
      rethrow_top_end();
    return v;
  }
  // The first next() is the common slow case; it needs none of operate()'s
  // checks (a created node is the idle top of its own chain).
  [[gnu::noinline]] void* resume_slow(gen_op o, void* value) {
    if (o == gen_op::next && status == node_state::created) {
      set_status(node_state::started);  // now on the fast path
      return resume_yield(o, value);
    }
    const gen_outcome out = operate(o, value, nullptr, false);
    if (out != gen_outcome::yielded) rethrow_end(out);
    return top->io;
  }

  // resume_next() is the iterator's next(): it reports the end instead of
  // throwing stop_iteration.
  gen_outcome resume_next() {
    if (!fast_path()) [[unlikely]]
      return resume_next_slow();
    run_top(gen_op::next, nullptr);
    return outcome;
  }
  [[gnu::noinline]] gen_outcome resume_next_slow() {
    if (status == node_state::created) {
      set_status(node_state::started);  // now on the fast path
      return resume_next();
    }
    return operate(gen_op::next, nullptr, nullptr, false);
  }

  // The protocol's hooks (detail/generator_protocol.hpp); operate(),
  // resume_throw(), close() and rethrow_end() come from there.
  void before_op() noexcept {}
  void start_body() noexcept { set_status(node_state::started); }
  void begin(gen_op o, void* value) noexcept { start_op(o, value); }
  // A delegate that ignores close is settled here, on the consumer's side.
  gen_outcome enter_leaf_throwing() {
    gen_outcome out = enter_leaf();
    while (out == gen_outcome::yielded && top->closing && ignored_close()) out = enter_leaf();
    return out;
  }
  // A coroutine needs nothing of the operation but the chain.
  static void hand_over(chain_node*, chain_node*) noexcept {}

  // rethrow_top_end() reads the outcome itself: an argument would keep it in
  // a register on the caller's hot path.
  [[noreturn, gnu::noinline]] void rethrow_top_end() { rethrow_end(top->outcome); }

  // destroy() is the generator's destructor (P6.1, P6.2).
  [[gnu::noinline]] void destroy() noexcept {
    if (running_in_destructor(
            "green: a running stackless generator was destroyed (from inside its own body); it "
            "is leaked. Destroy generators only while suspended or finished.\n")) {
      return;
    }
    if (status == node_state::started && close_for_destructor()) {
      // It ignored generator_exit and has left its delegator's chain.
      // Destroying the frame runs the destructors of its locals (not its
      // handlers); leave its delegate's chain first.
      if (delegate != nullptr) delegate->detach();
    }
    std::coroutine_handle<>::from_address(frame).destroy();
  }

  // --- body side -----------------------------------------------------------

  // ignored_close() runs on the consumer's side when the leaf yielded while
  // close was forwarded down (P5.7): if a delegate that was closed
  // yielded, its close() fails in its delegator. That delegate stays
  // suspended, cut off from the chain, and the operation continues in the
  // delegator, which becomes the leaf: returns true, enter_leaf() again.
  // False: the yield goes to the caller as usual.
  [[gnu::noinline]] bool ignored_close() noexcept {
    chain_node* t = top;
    chain_node* n = t->leaf->ignoring_node();
    if (n == nullptr) return false;
    fail_ignored_close(n);
    t->outcome = gen_outcome::yielded;
    t->active = true;
    return true;
  }

  // woke() is what a yield returns: the S* of a send(), null for next().
  // Without a send type an operation other than next is a throw. With one,
  // next and send both stay on the straight path (a select, not a branch).
  template <bool Sendable>
  void* woke() {
    chain_node* t = top;
    const gen_op o = t->op;
    if constexpr (!Sendable) {
      if (o != gen_op::next) [[unlikely]]
        woke_throw();
      return nullptr;
    } else {
      if (o == gen_op::throw_ || (o == gen_op::send && plain_iter)) [[unlikely]]
        woke_throw();
      return o == gen_op::send ? t->io : nullptr;
    }
  }
  [[noreturn, gnu::noinline]] void woke_throw() {
    if (top->op == gen_op::send) green::detail::throw_range_has_no_send();  // P5.2
    std::rethrow_exception(top->leaf_exc);
  }

  // final_transfer() runs at final suspension: report to the consumer if
  // this is the entry, else resume the delegator (symmetric transfer).
  std::coroutine_handle<> final_transfer() noexcept {
    bool to_consumer = false;
    if (chain_node* o = body_ended(&to_consumer)) {
      return std::coroutine_handle<>::from_address(o->frame);
    }
    if (to_consumer) io = nullptr;  // see run_top()
    return std::noop_coroutine();
  }

  // Out of line: inlined, its handlers keep the promise in a second
  // callee-saved register, which every resumption then saves and restores.
  [[gnu::noinline]] void unhandled_exception() noexcept {
    if (!plain_iter) {
      try {
        throw;
      } catch (const stop_iteration&) {
        exc = green::detail::pep479();  // P4.1, P5.3
        return;
      } catch (...) {
      }
    }
    exc = std::current_exception();
  }

  // delegate_to() links `sub` below this node and returns the coroutine to
  // resume (the new leaf), which primes it with next() (P5.1).
  std::coroutine_handle<> delegate_to(promise_base* sub) noexcept {
    chain_node* t = top;
    prime_delegate(sub);
    if (sub->status == node_state::created) sub->set_status(node_state::started);
    in_yield_from = true;
    link(sub);
    t->op = gen_op::next;
    t->io = nullptr;
    return std::coroutine_handle<>::from_address(t->leaf_frame);
  }
};

template <class R>
struct promise_result : promise_base {
  // Shared: the stop_iteration that reports the return holds it too.
  template <class T = R>
  requires std::constructible_from<R, T&&>
  void return_value(T&& v) { store_result(std::make_shared<R>(std::forward<T>(v))); }
};
template <>
struct promise_result<void> : promise_base {
  void return_void() noexcept { has_result = true; }
};

// The awaiters of `co_yield value`. yield_value() has already put the
// value's address in the slot (by address for an rvalue: the temporary lives
// until the end of the co_yield expression; by copy for an lvalue), so a
// yield only suspends.
template <class S>
struct yield_awaiter {
  promise_base* p;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  S await_resume() const {
    // Telling GCC that a yield's resumption is hot makes its resume switch
    // test the yield's index first and lay the body out straight from there
    // to the next suspension. Without it GCC lays a body's loop out after the
    // code that enters the loop the first time, and every item pays two more
    // taken jumps. (Marking the first entry cold instead moves it to
    // .text.unlikely, which costs bodies that run once, like tree_walk's.)
#if defined(__GNUC__) && !defined(__clang__)
    goto resumed;
  resumed:
    __attribute__((hot));
#endif
    void* s = p->template woke<!std::is_void_v<S>>();
    if constexpr (!std::is_void_v<S>) {
      if (s != nullptr) return std::move(*static_cast<S*>(s));
      if constexpr (std::is_default_constructible_v<S>) {
        return S{};
      } else {
        green::detail::throw_no_default_send();
      }
    }
  }
};

template <class Y, class S>
struct yield_copy_awaiter : yield_awaiter<S> {
  Y copy;
  void await_suspend(std::coroutine_handle<>) noexcept { this->p->top->io = std::addressof(copy); }
};

// final_awaiter finds the promise through the handle: holding a pointer
// would keep one more register live across the end of every body.
template <class P>
struct final_awaiter {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
    return h.promise().final_transfer();
  }
  void await_resume() const noexcept {
    // Resuming a finished coroutine is undefined; saying so keeps this
    // resume point out of the way of the yields' (see yield_awaiter).
#if defined(__GNUC__) && !defined(__clang__)
    goto never;
  never:
    __attribute__((cold));
#endif
  }
};

// A yield_from() tag: Sub is generator& (borrowed) or generator (owned).
template <class Sub>
struct delegation {
  Sub sub;
};
// iterator_pair is the range of yield_from(first, last) (std::ranges::subrange
// trips Clang 14 with libstdc++ 12).
template <class It, class Se>
struct iterator_pair {
  It first;
  Se last;
  It begin() const { return first; }
  Se end() const { return last; }
};

// A yield_from(range) tag: Rg is T& (borrowed) or T (owned).
template <class Rg>
struct range_delegation {
  Rg range;
};

template <class Y, class S, class Rg>
generator<Y, S, void> range_helper(Rg& range);

template <class Y, class S, class R>
struct promise : promise_result<R> {
  promise() noexcept {
    this->frame = this->leaf_frame = std::coroutine_handle<promise>::from_promise(*this).address();
  }

  generator<Y, S, R> get_return_object() noexcept {
    return generator<Y, S, R>(std::coroutine_handle<promise>::from_promise(*this));
  }
  std::suspend_always initial_suspend() const noexcept { return {}; }  // P1.1
  final_awaiter<promise> final_suspend() const noexcept { return {}; }

  yield_awaiter<S> yield_value(std::remove_cvref_t<Y>&& v) noexcept {
    this->top->io = std::addressof(v);
    return {this};
  }
  yield_copy_awaiter<Y, S> yield_value(const Y& v) noexcept(
      std::is_nothrow_copy_constructible_v<Y>) {
    return {{this}, v};
  }

  // co_yield yield_from(generator) evaluates to the delegate's result.
  template <class Sub>
  auto yield_value(delegation<Sub> d) {
    using G = std::remove_cvref_t<Sub>;
    using R2 = typename G::return_type;
    static_assert(
        std::is_same_v<typename G::value_type, Y> && std::is_same_v<typename G::send_type, S>,
        "yield_from(sub): sub must be a stackless generator with the same Y and S");
    struct awaiter {
      promise* self;
      delegation<Sub> d;
      // The delegate's promise, taken before suspending; null if the
      // delegate was already closed (P5.4). A borrowed delegate may be
      // destroyed while we are suspended in it (its destructor closes it and
      // takes it out of the chain), so the resumption must not read the
      // generator object again; delegation_result() dereferences `sub` only
      // when the delegate has just finished into us, alive.
      promise_base* sub = nullptr;
      bool await_ready() {
        promise_base* s = &d.sub.h_.promise();
        self->check_delegate(s);
        if (s->status == node_state::closed) return true;
        sub = s;
        return false;
      }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<>) noexcept {
        return self->delegate_to(sub);
      }
      R2 await_resume() {
        const bool returned = sub != nullptr && self->delegation_result(sub);
        if constexpr (!std::is_void_v<R2>) {
          if (!returned) {
            if constexpr (std::is_default_constructible_v<R2>) {
              return R2{};
            } else {
              green::detail::throw_no_result();
            }
          }
          R2& r = sub->template result_ref<R2>();
          if constexpr (std::is_copy_constructible_v<R2>) {
            return r;
          } else {
            return std::move(r);
          }
        } else {
          (void)returned;
        }
      }
    };
    return awaiter{this, std::move(d)};
  }

  // co_yield yield_from(range) yields the range's elements through a helper
  // coroutine that acts as a sub-iterator without send/throw/close.
  template <class Rg>
  auto yield_value(range_delegation<Rg> d) {
    struct awaiter {
      promise* self;
      range_delegation<Rg> d;
      std::optional<generator<Y, S, void>> helper{};
      promise_base* sub() noexcept { return &helper->h_.promise(); }
      bool await_ready() {
        helper.emplace(range_helper<Y, S>(d.range));
        sub()->plain_iter = true;
        return false;
      }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<>) noexcept {
        return self->delegate_to(sub());
      }
      void await_resume() { (void)self->delegation_result(sub()); }
    };
    return awaiter{this, std::move(d)};
  }

  // A generator body cannot co_await.
  template <class T>
  void await_transform(T&&) = delete;
};

template <class Y, class S, class Rg>
generator<Y, S, void> range_helper(Rg& range) {
  for (auto&& x : range) co_yield Y(static_cast<decltype(x)&&>(x));
}

}  // namespace detail

// yield_from(sub) delegates to another stackless generator with the same Y
// and S: `R2 r = co_yield green::stackless::yield_from(sub);` (PEP 380's
// `r = yield from sub`). `sub` may be an lvalue (borrowed) or a temporary
// (owned for the duration).
template <class Y, class S, class R2>
detail::delegation<generator<Y, S, R2>&> yield_from(generator<Y, S, R2>& sub) noexcept {
  return {sub};
}
template <class Y, class S, class R2>
detail::delegation<generator<Y, S, R2>> yield_from(generator<Y, S, R2>&& sub) noexcept {
  return {std::move(sub)};
}

// yield_from(range) / yield_from(first, last) yield every element of a C++
// range, converted to the generator's Y: `co_yield yield_from(vec);`.
// An lvalue range is borrowed, a temporary is owned for the duration.
template <std::ranges::input_range Rg>
requires(!detail::is_stackless_generator<std::remove_cvref_t<Rg>>::value)
    detail::range_delegation<Rg> yield_from(Rg&& range) {
  return {std::forward<Rg>(range)};
}
template <std::input_iterator It, std::sentinel_for<It> Se>
detail::range_delegation<detail::iterator_pair<It, Se>> yield_from(It first, Se last) {
  return {{std::move(first), std::move(last)}};
}

// generator<Y, S, R>: a coroutine yielding Y, receiving S through send()
// (void: no send()), and returning R with co_return.
template <class Y, class S, class R>
class [[nodiscard]] generator {
  static_assert(!std::is_reference_v<Y> && !std::is_void_v<Y>,
                "stackless::generator<Y, S, R>: Y must be an object type");
  static_assert(!std::is_reference_v<S>,
                "stackless::generator<Y, S, R>: S must not be a reference");

 public:
  using promise_type = detail::promise<Y, S, R>;
  using value_type = Y;
  using send_type = S;
  using return_type = R;
  // There is no yielder_type: a stackless body yields with co_yield in the
  // coroutine itself, so nothing is passed to it (and nested calls cannot
  // yield). What generic code needs to name instead is the coroutine's
  // promise_type, above, or green::generator's yielder_type for the
  // stackful design.

  generator(generator&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      if (h_) h_.promise().destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  // ~generator() close()s a suspended generator, then frees its frame.
  // Errors go to the unraisable hook (P6.1).
  ~generator() {
    if (h_) h_.promise().destroy();
  }

  // next(), send(), throw_(), close(), state(), result(): as green::generator
  // (the stop_iteration of the call that sees co_return carries the value).
  Y next() {
    if constexpr (!std::is_void_v<S> && !std::is_default_constructible_v<S>) {
      if (h_.promise().status != detail::node_state::created) {
        green::detail::throw_no_default_send();
      }
    }
    return std::move(*static_cast<Y*>(h_.promise().resume_yield(detail::gen_op::next, nullptr)));
  }

  template <class T = S>
  requires(!std::is_void_v<T> && std::is_same_v<T, S>) Y send(std::type_identity_t<T> value) {
    detail::promise_base& p = h_.promise();
    return std::move(*static_cast<Y*>(p.resume_yield(detail::gen_op::send, std::addressof(value))));
  }

  Y throw_(std::exception_ptr e) {
    detail::promise_base& p = h_.promise();
    const detail::gen_outcome o = p.resume_throw(std::move(e));
    if (o != detail::gen_outcome::yielded) [[unlikely]]
      p.rethrow_end(o);
    return std::move(*static_cast<Y*>(p.top->io));
  }
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>) Y throw_(E&& e) {
    return throw_(std::make_exception_ptr(std::forward<E>(e)));
  }

  void close() { h_.promise().close(); }

  generator_state state() const noexcept { return h_.promise().public_state(); }
  bool running() const noexcept { return state() == generator_state::running; }
  bool suspended() const noexcept { return state() == generator_state::suspended; }
  bool done() const noexcept { return state() == generator_state::closed; }
  bool delegating() const noexcept { return h_.promise().in_yield_from; }

  template <class T = R>
  requires(!std::is_void_v<T>) const T& result() const {
    const detail::promise_base& p = h_.promise();
    if (!p.result) green::detail::throw_no_result();
    return p.template result_ref<const T>();
  }
  bool has_result() const noexcept { return h_.promise().has_result; }

  using iterator = green::detail::chain_iterator<Y, detail::promise_base>;

  iterator begin() { return iterator(&h_.promise()); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend struct detail::promise<Y, S, R>;
  template <class, class, class>
  friend struct detail::promise;
  explicit generator(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace green::stackless

#endif  // GREEN_STACKLESS_HPP
