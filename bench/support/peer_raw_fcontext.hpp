// bench/support/peer_raw_fcontext.hpp
//
// raw_fcontext: Boost.Context's bare jump_fcontext/make_fcontext on stacks
// this file maps itself (64 KiB, mmap, no guard page, pooled). It is the floor
// for anything built on Boost.Context:
//   * echo and spawner carry the int in the transfer_t data pointer and do
//     nothing else: one jump_fcontext each way. echo_call is echo with each
//     side's jump in an out-of-line function (row raw_fcontext_call).
//   * generator is the least a usable generator needs on top: a control block
//     at the stack top, value handed out by address, and destruction of an
//     unfinished generator by throwing raw_fcontext_unwind at its pending
//     yield (the same mechanism Boost's forced_unwind uses), so destructors on
//     its stack run.
//   * ring is symmetric: each unit jumps straight to the next one.

#ifndef GREEN_BENCH_PEER_RAW_FCONTEXT_HPP
#define GREEN_BENCH_PEER_RAW_FCONTEXT_HPP

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/context/detail/fcontext.hpp>

#include "support/common.hpp"
#include "support/stackful_workloads.hpp"

namespace green_bench {
namespace raw {

using boost::context::detail::fcontext_t;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;

inline void* int_to_data(int v) noexcept {
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(v));
}
inline int data_to_int(void* p) noexcept {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(p));
}

// stack_pool hands out stacks of stack_size bytes and keeps returned ones for
// reuse. Destroying the pool unmaps the stacks it holds (all must be back).
class stack_pool {
 public:
  stack_pool() = default;
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;
  ~stack_pool() {
    for (void* p : free_) ::munmap(p, stack_size);
  }

  // allocate() returns the lowest address of a stack.
  void* allocate() {
    if (!free_.empty()) {
      void* p = free_.back();
      free_.pop_back();
      return p;
    }
    void* p = ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p) { free_.push_back(p); }

 private:
  std::vector<void*> free_;
};

// default_pool() is the warm pool of the calling thread.
inline stack_pool& default_pool() {
  thread_local stack_pool pool;
  return pool;
}

inline void* stack_top(void* base) { return static_cast<char*>(base) + stack_size; }

// ------------------------------------------------------------- switch_roundtrip

class echo {
 public:
  echo() : base_(default_pool().allocate()) {
    ctx_ = make_fcontext(stack_top(base_), stack_size, &entry);
  }
  echo(const echo&) = delete;
  echo& operator=(const echo&) = delete;
  // The echo loop holds only trivially destructible locals: abandoning it is fine.
  ~echo() { default_pool().deallocate(base_); }

  int roundtrip(int x) {
    transfer_t t = jump_fcontext(ctx_, int_to_data(x));
    ctx_ = t.fctx;
    return data_to_int(t.data);
  }

 private:
  static void entry(transfer_t t) noexcept {
    for (;;) t = jump_fcontext(t.fctx, int_to_data(data_to_int(t.data) + 1));
  }
  void* base_;
  fcontext_t ctx_;
};

// echo_call: echo with each side's jump_fcontext inside an out-of-line
// function that does a little work after the jump (stores the new context), as
// any switch API does. The `ret` of that function, executed after the stack
// switch, returns to a call made on the other stack, so the return-stack
// buffer mispredicts it: the price of a function-call switch API that the
// inline echo above does not pay. Informational row `raw_fcontext_call`.
[[gnu::noinline]] inline int switch_call(fcontext_t& ctx, int x) {
  transfer_t t = jump_fcontext(ctx, int_to_data(x));
  ctx = t.fctx;
  return data_to_int(t.data);
}

class echo_call {
 public:
  echo_call() : base_(default_pool().allocate()) {
    ctx_ = make_fcontext(stack_top(base_), stack_size, &entry);
  }
  echo_call(const echo_call&) = delete;
  echo_call& operator=(const echo_call&) = delete;
  ~echo_call() { default_pool().deallocate(base_); }

  int roundtrip(int x) { return switch_call(ctx_, x); }

 private:
  static void entry(transfer_t t) noexcept {
    fcontext_t caller = t.fctx;
    int v = data_to_int(t.data);
    for (;;) v = switch_call(caller, v + 1);
  }
  void* base_;
  fcontext_t ctx_;
};

// ----------------------------------------------------------------- spawn_finish

class spawner {
 public:
  int run(int x) {
    void* base = pool_.allocate();
    fcontext_t c = make_fcontext(stack_top(base), stack_size, &entry);
    transfer_t t = jump_fcontext(c, int_to_data(x));
    pool_.deallocate(base);  // the unit finished: it never runs again
    return data_to_int(t.data);
  }

 private:
  [[noreturn]] static void entry(transfer_t t) noexcept {
    jump_fcontext(t.fctx, int_to_data(data_to_int(t.data) + 1));
    __builtin_unreachable();
  }
  stack_pool pool_;
};

// -------------------------------------------------------------------- generator

// raw_fcontext_unwind is thrown at the pending yield of a generator that is
// destroyed unfinished; the entry function catches it.
struct raw_fcontext_unwind {};

// control sits at the top of the generator's own stack, so the handle stays
// one pointer and can move.
struct control {
  fcontext_t self = nullptr;    // the generator, while suspended
  fcontext_t caller = nullptr;  // whoever resumed it, while it runs
  const void* sent = nullptr;   // the value of send(), or nullptr
  bool kill = false;
  bool finished = false;
  void* base = nullptr;
  stack_pool* pool = nullptr;
};

template <class Y, class S>
class yielder {
 public:
  explicit yielder(control* c) noexcept : c_(c) {}
  yielder(const yielder&) = delete;
  yielder& operator=(const yielder&) = delete;

  // yield() hands &v to the caller and suspends; returns the sent value.
  S yield(const Y& v) {
    control* c = c_;
    transfer_t t = jump_fcontext(c->caller, const_cast<Y*>(std::addressof(v)));
    c->caller = t.fctx;
    if (c->kill) throw raw_fcontext_unwind{};
    if constexpr (!std::is_void_v<S>) return *static_cast<const S*>(c->sent);
  }

 private:
  control* c_;
};

template <class Y, class S = void>
class generator {
 public:
  template <class Body>
  explicit generator(Body&& body, stack_pool& pool = default_pool()) {
    using B = std::decay_t<Body>;
    void* base = pool.allocate();
    auto top = reinterpret_cast<std::uintptr_t>(stack_top(base));
    constexpr std::uintptr_t align = alignof(record<B>) > 64 ? alignof(record<B>) : 64;
    auto at = (top - sizeof(record<B>)) & ~(align - 1);
    auto* rec = ::new (reinterpret_cast<void*>(at)) record<B>(std::forward<Body>(body));
    rec->base = base;
    rec->pool = &pool;
    auto sp = at - 64;  // a gap between the control block and the stack
    rec->self = make_fcontext(reinterpret_cast<void*>(sp),
                              sp - reinterpret_cast<std::uintptr_t>(base), &entry<B>);
    c_ = rec;
  }
  generator(generator&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  generator& operator=(generator&&) = delete;
  ~generator() {
    if (!c_) return;
    if (!c_->finished) {  // unwind the body (or skip it, if never started)
      c_->kill = true;
      jump_fcontext(c_->self, c_);
    }
    c_->pool->deallocate(c_->base);
  }

  // next() runs the body to its next yield; nullptr once it returned.
  // Precondition: it has not returned nullptr before.
  const Y* next() { return resume(nullptr); }
  template <class T = S>
  requires(!std::is_void_v<T>) const Y* send(const T& s) { return resume(std::addressof(s)); }

 private:
  template <class B>
  struct record : control {
    template <class F>
    explicit record(F&& f) : body(std::forward<F>(f)) {}
    B body;
  };

  const Y* resume(const void* sent) {
    control* c = c_;
    c->sent = sent;
    transfer_t t = jump_fcontext(c->self, c);
    c->self = t.fctx;
    return static_cast<const Y*>(t.data);
  }

  template <class B>
  [[noreturn]] static void entry(transfer_t t) noexcept {
    auto* rec = static_cast<record<B>*>(t.data);
    rec->caller = t.fctx;
    if (!rec->kill) {
      try {
        yielder<Y, S> y(rec);
        rec->body(y);
      } catch (const raw_fcontext_unwind&) {
      }
    }
    std::destroy_at(&rec->body);
    rec->finished = true;
    jump_fcontext(rec->caller, nullptr);  // never resumed again
    __builtin_unreachable();
  }

  control* c_;
};

// --------------------------------------------------------------- kill_suspended

using parked = generator<int>;

inline parked make_parked(int* destroyed) {
  parked g([destroyed](auto& y) {
    counted guard(destroyed);
    y.yield(0);
  });
  g.next();  // suspended inside, guard alive
  return g;
}

// ------------------------------------------------------------------ pingpong_many

// ring: the calling thread is unit 0, units 1..n-1 have their own stacks.
// Unit i jumps straight to unit i+1; unit n-1 jumps back to unit 0.
class ring {
 public:
  explicit ring(int n) : n_(n), ctx_(static_cast<std::size_t>(n)), base_(ctx_.size()) {
    for (int i = 1; i < n_; ++i) {
      base_[i] = default_pool().allocate();
      ctx_[i] = make_fcontext(stack_top(base_[i]), stack_size, &entry);
    }
  }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    stop_ = true;
    round();  // each unit passes control on and finishes
    for (int i = 1; i < n_; ++i) default_pool().deallocate(base_[i]);
  }

  // round() hands the token once around the ring: n hand-offs.
  void round() {
    ++token_;
    current_ = 1;
    transfer_t t = jump_fcontext(ctx_[1], this);
    ctx_[n_ - 1] = t.fctx;
  }
  long long token() const noexcept { return token_; }

 private:
  [[noreturn]] static void entry(transfer_t t) noexcept {
    auto* r = static_cast<ring*>(t.data);
    const int self = r->current_;
    const int next = self + 1 == r->n_ ? 0 : self + 1;
    r->ctx_[self - 1] = t.fctx;
    while (!r->stop_) {
      ++r->token_;
      r->current_ = next;
      t = jump_fcontext(r->ctx_[next], r);
      r->ctx_[self - 1] = t.fctx;
    }
    r->current_ = next;
    jump_fcontext(r->ctx_[next], r);
    __builtin_unreachable();
  }

  int n_;
  int current_ = 0;
  bool stop_ = false;
  long long token_ = 0;
  std::vector<fcontext_t> ctx_;
  std::vector<void*> base_;
};

// ----------------------------------------------------------------- memory_parked

// park_set: n generators on a fresh pool, each touched 1 KiB and parked.
class park_set {
 public:
  explicit park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.emplace_back(
          [](auto& y) {
            touch_stack();
            y.yield(0);
          },
          pool_);
      units_.back().next();
    }
  }
  ~park_set() {
    for (auto& u : units_) u.next();  // run each to its end
  }

 private:
  stack_pool pool_;  // declared first: destroyed after the units
  std::vector<generator<int>> units_;
};

}  // namespace raw

// The policy (the members variants.hpp lists).
struct raw_fcontext : stackful_workloads<raw::generator> {
  static constexpr const char* name = "raw_fcontext";
  using echo = raw::echo;
  using spawner = raw::spawner;
  using parked = raw::parked;
  static parked make_parked(int* destroyed) { return raw::make_parked(destroyed); }
  using ring = raw::ring;
  using park_set = raw::park_set;
};

// raw_fcontext_call: raw_fcontext's switch_roundtrip with each side's jump in
// a [[gnu::noinline]] function (informational: what any switch API pays for
// being a function call after a stack switch).
struct raw_fcontext_call {
  static constexpr const char* name = "raw_fcontext_call";
  using echo = raw::echo_call;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_RAW_FCONTEXT_HPP
