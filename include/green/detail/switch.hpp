// green/detail/switch.hpp: PART OF NO API. The switch entry points that the
// inline greenlet::switch_value() and the generators call, and the type that
// carries a jump's result between them.
//
// It is the one public header that lib/backend/ may include: the backend
// checks that switch_transfer has the layout of the jump's own result, and
// needs nothing else from the API. It names greenlet, greenlet_state and value
// only as incomplete types, so it includes no other green header but the
// configuration.

#ifndef GREEN_DETAIL_SWITCH_HPP
#define GREEN_DETAIL_SWITCH_HPP

#include "green/config.hpp"

namespace green {

class greenlet;
class value;

namespace detail {
struct greenlet_state;  // lib/greenlet_state.hpp

// A switch is two library calls made from the caller's own frame:
// switch_out() suspends the caller and jumps; when something switches back,
// the caller resumes right where switch_out() was called, and switch_in()
// turns what arrived into the result. Splitting it this way means no
// library function returns across the stack switch, which keeps the CPU's
// return prediction correct (see lib/backend/context.hpp); it is the same
// switch, for a third of the cost. switch_transfer is opaque.
struct switch_transfer {
  void* fctx;
  void* data;
};
// switch_out() switches to `target` carrying `*payload` (moved out by the
// receiver; null: nothing, the receiver gets an empty value).
// Throws: as greenlet::switch_value().
GREEN_API switch_transfer switch_out(greenlet_state* target, value* payload);
// switch_out_noting() is switch_out() with no payload that first stores, in
// *leaving, the handle getcurrent() would return for the caller: the
// generators record who parks in a yield, and who consumes, without a
// getcurrent() call per item.
GREEN_API switch_transfer switch_out_noting(greenlet_state* target, const greenlet** leaving);
// switch_in() is what switch_out() returned; `payload` is the same slot.
GREEN_API value switch_in(switch_transfer t, value* payload);
// switch_in_void() is switch_in() for a caller that wants no value (any
// value that arrives is dropped): the generators' next() and yield.
GREEN_API void switch_in_void(switch_transfer t);

}  // namespace detail
}  // namespace green

#endif  // GREEN_DETAIL_SWITCH_HPP
