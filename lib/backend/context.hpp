// lib/backend/context.hpp: PRIVATE. The only place in green that knows how a
// stack switch happens. Everything above it (greenlet_state, thread_state,
// the trampoline) uses machine_context and nothing else: no Boost type, no
// sanitizer call and no exception-runtime detail leaks out of this file.
//
// The backend is Boost.Context's fcontext (jump_fcontext/make_fcontext). Its
// public fiber API (resume_with) would add an ontop call to every switch;
// symmetric any-to-any switching only needs jump_fcontext plus one store on
// the receiving side ("from->fctx = t.fctx"), which is what this does.
//
// Around every jump it also:
//   * swaps the libstdc++ exception globals (caught-exception stack and the
//     uncaught count), so std::current_exception() and
//     std::uncaught_exceptions() are per greenlet. Boost 1.81 does not (its
//     fix, boostorg/context PR #281, is from 2025); without it a switch from
//     inside a catch block leaks the caught exception into the resumed
//     greenlet.
//   * tells AddressSanitizer that the stack changes (start/finish_switch_fiber)
//     so it neither reports false positives nor loses fake stacks.
//   * tells ThreadSanitizer which fiber runs (__tsan_switch_to_fiber), so it
//     keeps one shadow stack and one clock per greenlet. A switch is a
//     synchronisation: what one greenlet did before switching happens before
//     what the next one does.
//   * on x86-64, keeps the MXCSR exception flags alike in every context
//     (share_fp_status()). jump_fcontext saves and reloads MXCSR per
//     context, and loading a value that differs from the one in the
//     register costs about 60 ns per round trip on this Intel core (the
//     pipeline drains). The sticky exception flags make saved values differ
//     as soon as one greenlet does inexact floating-point math (a double
//     division is enough): measured here, a generator's next() went from
//     14 to 75 ns for good once the consumer had computed one double. So a
//     switch that finds the target's saved flags different from the
//     caller's gives the target the union of both, and from then on the
//     values agree and no switch pays. The control bits (rounding, masks,
//     FTZ/DAZ) stay per greenlet, as Boost keeps them; the exception flags
//     that fetestexcept() reads are shared by the thread's greenlets.
// Valgrind learns about stacks where they are mapped (stack_pool.cpp).

#ifndef GREEN_LIB_BACKEND_CONTEXT_HPP
#define GREEN_LIB_BACKEND_CONTEXT_HPP

#include <cxxabi.h>

#include <cstddef>

#include "green/detail/switch.hpp"

#include <boost/context/detail/fcontext.hpp>

#if defined(GREEN_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(GREEN_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace green::detail {

// The layout libstdc++ (and libc++abi) use for __cxa_eh_globals. Only these
// two fields are per-thread exception state; both are swapped on a switch.
struct eh_globals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

// The thread's eh_globals address never changes, so it is looked up once per
// thread (the lookup is a call into libstdc++ plus a TLS access), by
// machine_context::init_thread(), before the thread's first switch.
inline thread_local eh_globals* tls_eh_globals [[gnu::tls_model("initial-exec")]] = nullptr;

// jump_as_transfer() is jump_fcontext() returning green's own copy of
// transfer_t (public headers name no Boost type). Calling it through a
// pointer of this type, rather than converting the result, keeps the call
// eligible for a tail call in leave_for()'s callers; both types are two
// pointers returned in registers, checked below.
static_assert(sizeof(switch_transfer) == sizeof(boost::context::detail::transfer_t) &&
              offsetof(switch_transfer, fctx) ==
                  offsetof(boost::context::detail::transfer_t, fctx) &&
              offsetof(switch_transfer, data) ==
                  offsetof(boost::context::detail::transfer_t, data));
using jump_fn = switch_transfer (*)(void* to, void* data) noexcept;
[[gnu::always_inline]] inline jump_fn jump_as_transfer() noexcept {
  auto jump = reinterpret_cast<jump_fn>(
      reinterpret_cast<void (*)()>(&boost::context::detail::jump_fcontext));
  // Hide the callee from the optimiser: seeing jump_fcontext, GCC calls it
  // directly, converts Boost's transfer_t to switch_transfer after the call
  // and so loses the tail call.
  asm("" : "+r"(jump));
  return jump;
}

#if defined(__x86_64__) && !defined(_WIN32) && !defined(BOOST_USE_TSX)
// Boost.Context's x86-64 SysV fcontext keeps a suspended context's MXCSR in
// the first 4 bytes of its frame (fctx) and its x87 control word in the
// next 2; check_fp_layout() verifies that once per process.
#define GREEN_SHARE_FP_STATUS 1
#endif

// saved_frame describes, for debuggers (lib/gdb/green_gdb.py, through
// green_debug_layout in registry.cpp), what jump_fcontext leaves at a
// suspended context's fctx: where each callee-saved register and the resume
// address are, and where the stack pointer is once it has resumed. Byte
// offsets from fctx, read off Boost 1.81's jump_x86_64_sysv_elf_gas.S
// (`lea -0x40(%rsp)`, MXCSR and x87 control word at 0 and 4, r12..r15, rbx,
// rbp from 0x10, the return address pushed by the call at 0x40). Zero
// `size` means "unknown on this platform": debuggers then show no frames.
struct saved_frame {
  unsigned short r12, r13, r14, r15, rbx, rbp, rip, size;
};
#if defined(__x86_64__) && !defined(_WIN32) && !defined(BOOST_USE_TSX)
inline constexpr saved_frame kSavedFrame{0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x48};
#else
inline constexpr saved_frame kSavedFrame{};
#endif

// load_fp_status() reads the MXCSR saved in a suspended frame. Inline asm,
// so that ASan does not check a load from another stack's saved frame,
// which only Boost's own asm wrote.
[[gnu::always_inline]] inline unsigned load_fp_status(const void* fctx) noexcept {
  unsigned v;
  asm("movl (%1), %0" : "=r"(v) : "r"(fctx), "m"(*static_cast<const char(*)[4]>(fctx)));
  return v;
}
[[gnu::always_inline]] inline void store_fp_status(void* fctx, unsigned v) noexcept {
  asm volatile("movl %1, (%0)" : : "r"(fctx), "r"(v) : "memory");
}
// check_fp_layout() aborts with a message if the frame layout that
// load_fp_status() relies on is not this Boost's.
void check_fp_layout() noexcept;

class machine_context {
 public:
  // entry_fn runs on a fresh stack the first time it is switched to. `self`
  // is the context being started, `from` the one that switched to it. It
  // must never return: it ends with exit_to().
  using entry_fn = void (*)(machine_context* self, machine_context* from);

  // init_thread() must run on each thread before its first switch.
  static void init_thread() noexcept {
    tls_eh_globals = reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
    check_fp_layout();
  }

  // prepare() makes this context start `fn` on [stack_top - size, stack_top)
  // at the next switch to it.
  void prepare(void* stack_top, std::size_t size, entry_fn fn) noexcept {
    fctx_ = boost::context::detail::make_fcontext(stack_top, size, &trampoline);
    entry_ = fn;
    eh_ = {};
    stack_bottom_ = static_cast<char*>(stack_top) - size;
    stack_size_ = size;
#if defined(GREEN_TSAN)
    tsan_fiber_ = __tsan_create_fiber(0);
#endif
  }

  // retire() releases what a prepared context holds besides its stack, once
  // it can never run again (its greenlet is dead, or dropped unrun). Safe to
  // call twice, from any thread, and on a context never prepared.
  void retire() noexcept {
#if defined(GREEN_TSAN)
    if (tsan_fiber_ != nullptr && entry_ != nullptr) __tsan_destroy_fiber(tsan_fiber_);
    tsan_fiber_ = nullptr;
#endif
  }

  // unwinding() is true if this context, suspended, left while an exception
  // was propagating through its frames (a destructor or catch handler that
  // runs during the unwinding switched away).
  bool unwinding() const noexcept { return eh_.uncaught_exceptions != 0; }

  // running_on() is true if the calling code runs on this context's stack.
  bool running_on() const noexcept {
    auto* sp = static_cast<const char*>(__builtin_frame_address(0));
    auto* bottom = static_cast<const char*>(stack_bottom_);
    return bottom != nullptr && sp >= bottom && sp < bottom + stack_size_;
  }

  // switch_to() suspends the running context (this) and resumes `to`.
  // Returns, once something switches back, the context that did so.
  machine_context* switch_to(machine_context& to) noexcept {
    void* to_fctx = prepare_leave(to);
    return arrived(jump_as_transfer()(to_fctx, this), this);
  }

  // prepare_leave() and the jump are the first half of switch_to(): they
  // suspend this context and resume `to`. What the jump returns, when
  // something switches back, must go to arrived() before anything else runs
  // on this stack. A caller that returns the jump's result at once, as its
  // last action, lets the
  // compiler turn the call of jump_fcontext into a jump (a tail call): the
  // context then resumes in that caller's caller, and no `ret` runs between
  // the two stacks. That keeps the return-stack buffer in step; a `ret`
  // right after a stack switch returns to a call made on the other stack and
  // is mispredicted every time (about 10 ns here).
  //
  // It is written as a macro-like pair so that the call is a plain
  // `return jump(...)` in the caller: any copy of the result in between (an
  // inlined helper's return value) makes GCC give up the tail call.
  //   void* to_fctx = self.prepare_leave(to);
  //   return jump_as_transfer()(to_fctx, &self);
  [[gnu::always_inline]] inline void* prepare_leave(machine_context& to) noexcept {
    eh_globals* g = tls_eh_globals;
    eh_ = *g;
    *g = to.eh_;
    target_ = &to;
    share_fp_status(to);
#if defined(GREEN_ASAN)
    __sanitizer_start_switch_fiber(&asan_fake_stack_, to.stack_bottom_, to.stack_size_);
#endif
#if defined(GREEN_TSAN)
    tsan_leave(to);
#endif
    return to.fctx_;
  }

  // arrived() finishes a switch into `self`, the context running now: `t`
  // is what the jump returned. Returns the context that switched here.
  static machine_context* arrived(switch_transfer t, machine_context* self) noexcept {
    auto* from = static_cast<machine_context*>(t.data);
    from->fctx_ = static_cast<boost::context::detail::fcontext_t>(t.fctx);
#if defined(GREEN_ASAN)
    // A thread's main stack has no known bounds until ASan reports them here.
    __sanitizer_finish_switch_fiber(self->asan_fake_stack_, &from->stack_bottom_,
                                    &from->stack_size_);
#endif
    (void)self;
    return from;
  }

  // exit_to() leaves a context for good (its greenlet is dead) and resumes
  // `to`. The stack may be freed by whoever runs next, after the jump.
  [[noreturn]] void exit_to(machine_context& to) noexcept {
    *tls_eh_globals = to.eh_;
    target_ = &to;
    share_fp_status(to);
#if defined(GREEN_ASAN)
    // nullptr: this stack's fake frames can be dropped, it never resumes.
    __sanitizer_start_switch_fiber(nullptr, to.stack_bottom_, to.stack_size_);
#endif
#if defined(GREEN_TSAN)
    tsan_leave(to);  // this fiber is destroyed by retire(), after the jump
#endif
    boost::context::detail::jump_fcontext(to.fctx_, this);
    __builtin_unreachable();
  }

 private:
  [[gnu::always_inline]] inline void share_fp_status(machine_context& to) noexcept {
#if defined(GREEN_SHARE_FP_STATUS)
    // `to` saved its MXCSR when it left, long enough ago for the store to
    // have drained (reading the frame right after a jump costs 2 ns).
    const unsigned saved = load_fp_status(to.fctx_);
    to.mxcsr_ = saved;  // what the jump loads: `to`'s MXCSR when it arrives
    if (__builtin_expect(((saved ^ mxcsr_) & 0x3fu) != 0, 0)) share_fp_status_slow(to, saved);
#else
    (void)to;
#endif
  }
#if defined(GREEN_SHARE_FP_STATUS)
  // share_fp_status_slow(): the flags differ (or changed since this context
  // arrived). Give `to` the union of both contexts' flags, so the jump
  // loads no new value, or at worst the union, after which both agree. No
  // call and no stack slot: it must not give the hot path a frame.
  [[gnu::always_inline]] inline void share_fp_status_slow(machine_context& to,
                                                          unsigned saved) noexcept {
    asm volatile("stmxcsr %0" : "=m"(mxcsr_));  // what the jump will save here
    const unsigned merged = saved | (mxcsr_ & 0x3fu);
    store_fp_status(to.fctx_, merged);
    to.mxcsr_ = merged;
  }
#endif
#if defined(GREEN_TSAN)
  // A thread's main context is never prepared: its fiber is the thread's
  // own, learnt on its first switch out.
  void tsan_leave(machine_context& to) noexcept {
    if (tsan_fiber_ == nullptr) tsan_fiber_ = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(to.tsan_fiber_, 0);
  }
#endif

  static void trampoline(boost::context::detail::transfer_t t) noexcept {
    auto* from = static_cast<machine_context*>(t.data);
    machine_context* self = from->target_;
    arrived(switch_transfer{t.fctx, t.data}, self);
    self->entry_(self, from);
    __builtin_unreachable();
  }

  boost::context::detail::fcontext_t fctx_ = nullptr;
  machine_context* target_ = nullptr;  // where this context last switched to
  entry_fn entry_ = nullptr;
  eh_globals eh_{};
#if defined(GREEN_ASAN)
  void* asan_fake_stack_ = nullptr;  // ASan's fake frames of this context while suspended
#endif
  const void* stack_bottom_ = nullptr;
  std::size_t stack_size_ = 0;
#if defined(GREEN_SHARE_FP_STATUS)
  // This context's MXCSR when it last arrived: read from its frame by the
  // context that switched to it (0 until then).
  unsigned mxcsr_ = 0;
#endif
#if defined(GREEN_TSAN)
  void* tsan_fiber_ = nullptr;  // main: the thread's fiber; others: created by prepare()
#endif
};

}  // namespace green::detail

#endif  // GREEN_LIB_BACKEND_CONTEXT_HPP
