// green/detail/generator_protocol.hpp (internal)
//
// The generator protocol, written once for both designs: what an operation
// (next, send, throw_, close) does in each state of the entry node and its
// delegation chain, what a finished body, a delegation's end and a
// destructor decide. green::generator (the stackful design, on greenlets:
// adapters/generator/generator_core.cpp) and green::stackless::generator
// (C++20 coroutines, header-only: green/stackless.hpp) derive their chain
// node from protocol<Design>; only how a body is started and resumed
// differs, and that is what Design provides:
//
//   void before_op();                    a check that must come first (may throw;
//                                        nothing has changed yet)
//   void start_body();                   created -> started: make the body runnable
//   void begin(gen_op, void*);           start an operation with this node as entry
//   gen_outcome enter_leaf();            resume the leaf; the entry's outcome
//   gen_outcome enter_leaf_throwing();   the same for throw_()/close(), which also
//                                        settles a delegate that ignores close
//                                        (P5.7) if the body side does not
//   static void hand_over(chain_node* to, chain_node* from) noexcept;
//                                        move the design's state of the
//                                        operation in progress from the old
//                                        top `from` to the new top `to`
//                                        (take_op()), or drop it (`to` null)
//
// Header-only because the stackless design must be. The per-item paths
// (next()/send() on an idle started node, a plain yield) are not here: each
// design keeps its own, built for its way of resuming.

#ifndef GREEN_DETAIL_GENERATOR_PROTOCOL_HPP
#define GREEN_DETAIL_GENERATOR_PROTOCOL_HPP

#include <cstdint>
#include <cstdio>
#include <exception>
#include <utility>

#include "green/detail/generator_chain.hpp"
#include "green/detail/generator_errors.hpp"
#include "green/generator_common.hpp"

namespace green::detail {

template <class Design>
class protocol : public chain_node {
 public:
  // operate() is the general path of every operation, with this node as the
  // entry. `exit`: `e` is a generator_exit (close, or throw_ of one).
  [[gnu::noinline]] gen_outcome operate(gen_op o, void* value, std::exception_ptr e, bool exit) {
    self().before_op();
    chain_node* t = top;
    if (t->active) {
      if (status != node_state::started || is_running()) throw_already_executing();  // P1.8
      // P5.8, seen from above: this node is suspended in yield_from while its
      // delegate runs an operation of its own (someone drives the delegate
      // directly). CPython resumes this node and its yield from raises
      // "already executing": cut the delegate's part of the chain off, with
      // the running operation, and resume this node with that error.
      interrupt_delegation();
      self().begin(o, value);
      return self().enter_leaf();
    }
    if (status == node_state::closed) {
      if (o == gen_op::throw_) std::rethrow_exception(e);
      return gen_outcome::exhausted;  // P1.6: a bare stop_iteration
    }
    if (status == node_state::created) {
      if (o == gen_op::send) throw_send_to_unstarted();  // P1.3: unchanged
      self().start_body();
    }
    self().begin(o, value);
    if (o != gen_op::throw_) return self().enter_leaf();
    prepare_throw(std::move(e), exit);
    return self().enter_leaf_throwing();
  }

  // resume_throw() is throw_(e): the outcome, as operate().
  [[gnu::noinline]] gen_outcome resume_throw(std::exception_ptr e) {
    if (!e) throw_empty_exception();                              // P2.3
    if (status == node_state::closed) std::rethrow_exception(e);  // P1.6
    if (status == node_state::created) {
      // P2.1: closed without running the body; P2.5: PEP 479 applies.
      set_status(node_state::closed);
      try {
        std::rethrow_exception(e);
      } catch (const stop_iteration&) {
        std::rethrow_exception(pep479());
      }
    }
    const bool exit = is_generator_exit(e);  // P2.6, P5.6
    return operate(gen_op::throw_, nullptr, std::move(e), exit);
  }

  [[gnu::noinline]] void close() {
    if (status == node_state::created) {  // P3.1: nothing runs
      set_status(node_state::closed);
      return;
    }
    if (status == node_state::closed) return;  // P1.6
    switch (operate(gen_op::throw_, nullptr, new_generator_exit(), true)) {
      case gen_outcome::yielded:
        std::rethrow_exception(ignored_exit());  // P3.4: stays suspended
      case gen_outcome::raised:
        if (is_generator_exit(exc)) return;  // P3.2
        std::rethrow_exception(exc);         // P3.5
      default:
        return;  // returned (P3.3: result() holds a value returned on close)
    }
  }

  // rethrow_end() throws for a finished operation: stop_iteration (P1.5,
  // P1.6), or the exception the body raised (P1.7).
  [[noreturn, gnu::noinline]] void rethrow_end(gen_outcome o) {
    if (o == gen_outcome::raised) std::rethrow_exception(exc);
    throw_stop(o);
  }

  // interrupt_delegation() is P5.8 for a node suspended in yield_from whose
  // delegate runs an operation of its own: the delegate's part of the chain
  // is cut off and takes the running operation with it, and this node will
  // raise "generator already executing" at its yield_from when resumed.
  void interrupt_delegation() {
    chain_node* t = top;
    chain_node* d = delegate;
    d->detach();
    d->take_op(t);
    Design::hand_over(d, t);
    try {
      throw_already_executing();
    } catch (...) {
      wake_exc = std::current_exception();
    }
    wake = wake_reason::exc;
  }

  // check_delegate() is yield_from(sub)'s refusals: sub is running (P1.8:
  // for example sub is this generator), or already delegated to (P5.10).
  // Always inline: GCC stops inlining it into stackless bodies (the hot label
  // of the yield awaiter changes its estimates), and each yield_from then
  // pays a call.
  [[gnu::always_inline]] void check_delegate(const chain_node* sub) const {
    if (sub == this || sub->is_running()) throw_already_executing();
    if (sub->status != node_state::closed && sub->outer != nullptr) throw_delegated_twice();
  }

  // prime_delegate() prepares yield_from(sub) for a started or fresh sub
  // that is the top of its own chain: if sub is itself suspended in a
  // yield_from whose delegate runs elsewhere, priming it raises "already
  // executing" inside sub (P5.8 one level down).
  static void prime_delegate(protocol* sub) {
    if (sub->top->active) sub->interrupt_delegation();
  }

  // delegation_result() is the end of yield_from(sub), after the delegation
  // woke this node: true if sub returned a value, false for Python's None;
  // throws what the delegation raises. It reads sub only when sub finished
  // into this node: otherwise sub may be gone (a borrowed delegate destroyed
  // while this node was suspended in it wakes it with wake_reason::op, as if
  // someone driving it had finished it).
  bool delegation_result(const chain_node* sub) {
    in_yield_from = false;
    chain_node* t = top;
    const wake_reason why = wake;
    wake = wake_reason::op;
    switch (why) {
      case wake_reason::sub_finished:
        if (t->closing && sub->via_close) {
          // P5.6: sub was closed for us. Its close() failing raises here;
          // otherwise generator_exit is raised here (the caller's own
          // instance if we are the entry, as CPython's throw() does).
          if (sub->exc && !is_generator_exit(sub->exc)) std::rethrow_exception(sub->exc);
          if (t->entry == this) std::rethrow_exception(t->entry_exc);
          std::rethrow_exception(new_generator_exit());
        }
        if (sub->exc) std::rethrow_exception(sub->exc);  // P5.3, P5.5, P5.9
        return true;
      case wake_reason::exc:
        std::rethrow_exception(std::exchange(wake_exc, nullptr));  // P5.7, P5.8
      case wake_reason::op:
      default:
        // P5.4: the delegate finished while someone drove it directly;
        // CPython's yield from now calls into a finished generator:
        // next/send give None, throw raises the exception here, close
        // raises generator_exit here.
        if (t->op != gen_op::throw_) return false;
        std::rethrow_exception(t->leaf_exc);
    }
  }

  // fail_ignored_close() is P5.7 for `n`, a delegate that its delegator
  // closed and that yielded (ignoring_node()): its close() fails in its
  // delegator, and it stays suspended, cut off from the chain. Returns the
  // delegator, now the leaf, which the operation resumes next.
  static chain_node* fail_ignored_close(chain_node* n) {
    chain_node* o = n->outer;
    n->detach();
    o->wake = wake_reason::exc;
    o->wake_exc = ignored_exit();
    return o;
  }

  // body_ended() records that this node's body has finished (returned, or
  // raised: exc) and takes it out of the operation. It returns the delegator
  // to resume (a delegate finished; the delegator is now the leaf), or null:
  // control goes back to the caller of the operation if `*to_consumer` (this
  // node was the entry), else nobody waits for it (its consumer left).
  chain_node* body_ended(bool* to_consumer) noexcept {
    set_status(node_state::closed);
    *to_consumer = false;
    chain_node* t = top;
    if (!t->active) return nullptr;
    if (t->entry != this) {
      chain_node* o = outer;
      detach();
      o->wake = wake_reason::sub_finished;
      return o;
    }
    if (outer != nullptr) {
      // Called directly while a delegator sits in yield_from on us (P5.4):
      // leave its chain; it sees us finished when it is resumed.
      leave_delegator();
      Design::hand_over(nullptr, t);
      t->active = false;
      t->closing = false;
      t->entry = nullptr;
    }
    outcome = exc ? gen_outcome::raised : gen_outcome::returned;
    active = false;
    *to_consumer = true;
    return nullptr;
  }

  // leave_delegator() cuts this node (and what it delegates to) off the
  // delegator it is linked to; the delegator, when resumed, finds the
  // delegation over as if someone driving this node had finished it (P5.4).
  void leave_delegator() noexcept {
    chain_node* o = outer;
    detach();
    o->wake = wake_reason::op;
  }

  // close_for_destructor() is the destructor's close of a suspended
  // generator (P6.1): errors go to the unraisable hook. True if the body
  // ignored generator_exit and is suspended again (P3.4); it is then out of
  // its delegator's chain, and the design must unwind it some other way.
  bool close_for_destructor() noexcept {
    try {
      close();
    } catch (...) {
      report_unraisable(std::current_exception(), "closing a generator in its destructor");
    }
    if (status != node_state::started) return false;
    if (outer != nullptr) leave_delegator();
    return true;
  }

  // running_in_destructor() is P6.2: a running generator cannot be closed
  // or freed; it is leaked with `message` on stderr.
  bool running_in_destructor(const char* message) const noexcept {
    if (status != node_state::started || !is_running()) return false;
    std::fputs(message, stderr);
    return true;
  }

 private:
  Design& self() noexcept { return static_cast<Design&>(*this); }
};

}  // namespace green::detail

#endif  // GREEN_DETAIL_GENERATOR_PROTOCOL_HPP
