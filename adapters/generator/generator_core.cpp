// The stackful generator: the generator protocol (its rules are in
// green/detail/generator_protocol.hpp, shared with the stackless generator)
// resumed by switching greenlets, written once for every generator<Y, S, R>.
// It is built only on the public greenlet API.
//
// Who runs where:
//   * The consumer (any greenlet calling next/send/throw_/close on the
//     "entry" node) runs operate()/enter_leaf(): it records itself as the
//     consumer in the chain's top node and switches to the leaf, the
//     innermost node of the delegation chain (detail/generator_chain.hpp).
//   * The leaf's body, on its own greenlet (the "fiber"), runs yield_(),
//     which stores the value's address in the top node and switches straight
//     back to the consumer. Values never pass through the delegators.
//   * A body that finishes (fiber_main -> finish) reports to the consumer if
//     it is the entry, or else to its delegator, which sits in yield_from_().
//     A greenlet's return goes to its parent, so finish() first makes the
//     right greenlet the fiber's parent. Fibers are created with the main
//     greenlet as parent, so that reparenting walks a short parent chain.
//
// Per item (next() on a suspended generator, yield in its body) the work is:
// a handful of loads and stores in the top node, and two switches carrying
// empty payloads, each of which also records the greenlet it leaves
// (switch_out_noting(): consumer_ on one side, resume_ on the other). No
// getcurrent() call, allocation, std::function, reference counting or
// exception.
//
// Greenlet handles are borrowed: getcurrent() returns a reference that adds
// no reference count, valid while that greenlet exists. consumer_ is blocked
// inside an operation while we use it, and resume_ is parked in our yield.
// resume_ is the greenlet that executed the yield: usually the generator's
// own fiber, but a nested generator's body may yield on an outer generator's
// yielder (genlet's "level 2" yield), and resuming the outer generator must
// then continue that body.

#include <cxxabi.h>

#include <cstdio>
#include <optional>

#include "green/generator.hpp"

namespace green::detail {

namespace {

inline generator_core* as_core(chain_node* n) noexcept { return static_cast<generator_core*>(n); }

// The address of a thread_local identifies the calling thread cheaply.
thread_local char tls_thread_tag;
inline const void* this_thread_tag() noexcept { return &tls_thread_tag; }

[[noreturn, gnu::cold]] void throw_yield_outside(bool delegating) {
  if (delegating) {
    throw runtime_error(
        "yield outside a generator: this generator is delegating (yield_from is in progress), "
        "so only its delegate can yield now; yield through the delegate's yielder, or after "
        "yield_from returns (Python: RuntimeError: yield outside a genlet)");
  }
  throw runtime_error(
      "yield outside a generator: the yielder was used while its generator is not running (it "
      "was kept after the body returned, or used from outside the body); call yield() only "
      "while the generator runs (Python: RuntimeError: yield outside a genlet)");
}

[[noreturn, gnu::cold]] void throw_consumer_gone() {
  throw runtime_error(
      "yield: the greenlet that resumed this generator stopped waiting for it (an exception was "
      "thrown into it, or it was switched to from elsewhere), so there is nobody to yield to");
}

[[noreturn, gnu::cold]] void throw_unrelated_switch() {
  throw runtime_error(
      "generator: the greenlet waiting in next()/send()/throw_()/close() was switched to by "
      "something other than the generator, which is still running; do not switch to a "
      "greenlet that is waiting for a generator");
}

[[noreturn, gnu::cold]] void throw_destroying() {
  throw runtime_error(
      "yield: this generator is being destroyed after it ignored generator_exit; it cannot "
      "yield any more (let the exception propagate)");
}

}  // namespace

generator_core::generator_core(stack_options stack) noexcept : stack_(stack) {}

generator_core::~generator_core() = default;

// ---------------------------------------------------------------------------
// Consumer side.

gen_outcome generator_core::resume_next_slow() {
  return operate(gen_op::next, nullptr, nullptr, false);
}

gen_outcome generator_core::resume_send_slow(void* value) {
  return operate(gen_op::send, value, nullptr, false);
}

// The protocol's operations, out of line in the library.
gen_outcome generator_core::resume_throw(std::exception_ptr e) {
  return protocol::resume_throw(std::move(e));
}

void generator_core::close() { protocol::close(); }

void generator_core::rethrow_end(gen_outcome o) { protocol::rethrow_end(o); }

// The consumer first: getcurrent() throws if the thread's green state is
// gone, and nothing must have changed then.
void generator_core::before_op() { (void)getcurrent(); }

void generator_core::unrelated_switch() {
  as_core(top)->consumer_ = nullptr;
  throw_unrelated_switch();
}

// switch_failed() handles an exception out of the consumer's switch. Either
// the switch was refused before anything ran (another thread, no stack for
// the first start): undo the operation, the generator is unchanged. Or the
// consumer had an exception thrown into it while the body ran: the body
// keeps running without a consumer.
void generator_core::switch_failed() {
  auto* t = as_core(top);
  auto* leaf = as_core(t->leaf);
  const bool never_started = leaf->fiber_ && !leaf->fiber_->started();
  if (never_started || leaf->owner_ != this_thread_tag() || t->consumer_ == nullptr) {
    t->active = false;
    t->closing = false;
    t->entry = nullptr;
    t->consumer_ = nullptr;
    if (never_started && leaf == this) {
      fiber_.reset();
      resume_ = nullptr;
      set_status(node_state::created);
    }
  } else {
    t->consumer_ = nullptr;
  }
  throw;
}

void generator_core::start_fiber() {
  fiber_.emplace([this] { fiber_main(); }, getmain(), stack_);
  resume_ = &*fiber_;
  owner_ = this_thread_tag();
  set_status(node_state::started);
}

void generator_core::destroy() noexcept {
  if (running_in_destructor(
          "green: a running generator was destroyed (from inside its own body, or while it "
          "waited in a switch); it is leaked. Destroy generators only while they are suspended "
          "or finished.\n")) {
    return;
  }
  if (status == node_state::started && fiber_ && fiber_->dead()) {
    // Its thread has exited (checked first: a new thread may reuse the
    // exited one's tag), so nothing can run the body any more: drop it
    // unrun, as every greenlet of an exited thread (G9.3). Freeing the
    // greenlet frees its parent link to that thread's main greenlet too.
    fiber_.reset();
    delete this;
    return;
  }
  if (status == node_state::started && owner_ != this_thread_tag()) {
    std::fprintf(stderr,
                 "green: a suspended stackful generator was destroyed on a thread other than the "
                 "one that runs it; it cannot be closed from here and is leaked. Destroy it on "
                 "its own thread.\n");
    return;
  }
  if (status == node_state::started && !thread_state_alive()) {
    // The thread is exiting and its green state is already gone (a static
    // or thread_local generator): its greenlets are dropped unrun (G9.3,
    // P6.2), and so is this body; nothing can switch to it any more.
    fiber_.reset();
    delete this;
    return;
  }
  if (status == node_state::started && close_for_destructor()) {
    // It ignored generator_exit and is suspended again. Its stack must
    // unwind before the memory goes: kill its greenlet (greenlet_exit).
    killing_ = true;
    fiber_.reset();
  }
  delete this;
}

// ---------------------------------------------------------------------------
// Body side, on the fiber.

void generator_core::fiber_main() {
  try {
    run_body();
  } catch (const stop_iteration&) {
    exc = pep479();  // P4.1, P5.3
  } catch (abi::__forced_unwind&) {
    throw;  // thread cancellation: the core reports it
  } catch (const greenlet_exit&) {
    if (killing_) {
      set_status(node_state::closed);
      return;  // the kill's switch returns to the killer
    }
    exc = std::current_exception();
  } catch (...) {
    exc = std::current_exception();
  }
  finish();
}

// finish() reports the end of the body to whoever waits for it, and makes
// that greenlet the fiber's parent, so that the fiber's return goes there.
void generator_core::finish() noexcept {
  // The entry's consumer, read before body_ended() drops it.
  const greenlet* consumer = as_core(top)->consumer_;
  bool to_consumer = false;
  chain_node* delegator = body_ended(&to_consumer);
  const greenlet* target = nullptr;
  if (delegator != nullptr) {
    target = as_core(delegator)->resume_;  // it waits in yield_from_()
  } else if (to_consumer) {
    target = consumer;
  }  // else nobody is waiting (the consumer left): return to the parent.
  if (target == nullptr) return;
  try {
    fiber_->set_parent(*target);
  } catch (...) {
    // The target descends from this fiber (a greenlet created in the body
    // consumed it), so it cannot become the parent. Switch explicitly; the
    // fiber then stays parked here until destroy() kills it.
    try {
      target->switch_();
    } catch (...) {
    }
  }
}

void* generator_core::woke_slow(bool sendable) {
  chain_node* t = top;
  if (t->op == gen_op::send) {
    if (!sendable) throw_range_has_no_send();  // P5.2
    return t->io;
  }
  std::rethrow_exception(t->leaf_exc);
}

void* generator_core::yield_slow(void* value, bool sendable) {
  auto* t = as_core(top);
  if (killing_) throw_destroying();
  if (!t->active || t->leaf != this) throw_yield_outside(delegate != nullptr || in_yield_from);
  if (t->consumer_ == nullptr) throw_consumer_gone();
  if (t->closing) {
    if (chain_node* n = ignoring_node()) {
      // P5.7: a delegate that was closed yields. It stays suspended here, and
      // its delegator resumes with the failed close.
      resume_ = &getcurrent();
      as_core(fail_ignored_close(n))->resume_->switch_();
      return woke(sendable);
    }
  }
  resume_ = &getcurrent();
  t->io = value;
  t->outcome = gen_outcome::yielded;
  t->active = false;
  t->consumer_->switch_();
  return woke(sendable);
}

bool generator_core::yield_from_(generator_core& sub) {
  auto* t = as_core(top);
  if (killing_) throw_destroying();
  if (!t->active || t->leaf != this) throw_yield_outside(delegate != nullptr || in_yield_from);
  check_delegate(&sub);
  if (sub.status == node_state::closed) return false;  // P5.4: R{} at once
  prime_delegate(&sub);
  const bool fresh = sub.status == node_state::created;
  if (fresh) sub.start_fiber();
  resume_ = &getcurrent();
  in_yield_from = true;
  link(&sub);
  t->op = gen_op::next;  // P5.1: the delegate is primed with next()
  t->io = nullptr;
  try {
    as_core(t->leaf)->resume_->switch_();
  } catch (...) {
    // Killed (destroy() after an ignored close), or the first start of the
    // delegate failed. Leave the delegation.
    in_yield_from = false;
    if (delegate != nullptr) delegate->detach();
    if (fresh && !sub.fiber_->started()) {
      sub.fiber_.reset();
      sub.resume_ = nullptr;
      sub.set_status(node_state::created);
    }
    throw;
  }
  return delegation_result(&sub);
}

void generator_core::begin_range() noexcept { in_yield_from = true; }
void generator_core::end_range() noexcept { in_yield_from = false; }

}  // namespace green::detail
