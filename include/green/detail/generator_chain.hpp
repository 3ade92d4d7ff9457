// green/detail/generator_chain.hpp (internal)
//
// The delegation chain, the data both generator designs run the protocol on
// (detail/generator_protocol.hpp), and the iterator of both.

#ifndef GREEN_DETAIL_GENERATOR_CHAIN_HPP
#define GREEN_DETAIL_GENERATOR_CHAIN_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "green/detail/generator_errors.hpp"
#include "green/generator_common.hpp"

namespace green::detail {

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
// delegator as CPython's sub.close() would (P5.6 and P5.7). Close is O(d)
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
                 // or the delegate is executing elsewhere: P5.8)
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
  // store-to-load forwarding, and the stall cost more than the whole rest of
  // a stackless next() on some cores (docs/design.md).
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
  // (P5.6), so each gets a fresh generator_exit.
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

}  // namespace green::detail

#endif  // GREEN_DETAIL_GENERATOR_CHAIN_HPP
