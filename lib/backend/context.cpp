// lib/backend/context.cpp: PRIVATE. The once-per-process check of the frame
// layout that context.hpp's MXCSR handling reads.

#include "backend/context.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace green::detail {

void check_fp_layout() noexcept {
#if defined(GREEN_SHARE_FP_STATUS)
  static std::once_flag once;
  std::call_once(once, [] {
    // make_fcontext() writes the same frame that jump_fcontext() leaves, so
    // a frame made on a scratch stack shows where MXCSR and the x87 control
    // word are. Nothing ever jumps to it.
    alignas(64) static char scratch[512];
    void* fctx = boost::context::detail::make_fcontext(scratch + sizeof(scratch), sizeof(scratch),
                                                       [](boost::context::detail::transfer_t) {});
    unsigned mxcsr = 0;
    unsigned short x87 = 0;
    asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(x87));
    unsigned saved_mxcsr = 0;
    unsigned short saved_x87 = 0;
    asm volatile("movl (%2), %0\n\tmovw 4(%2), %1"
                 : "=&r"(saved_mxcsr), "=&r"(saved_x87)
                 : "r"(fctx)
                 : "memory");
    if (saved_mxcsr != mxcsr || saved_x87 != x87) {
      std::fprintf(stderr,
                   "green: fatal: this libboost_context does not keep MXCSR at the bottom of a "
                   "suspended frame (found %#x, expected %#x), so green's switch would corrupt "
                   "saved registers. green supports Boost.Context 1.81's x86-64 fcontext; build "
                   "green against that Boost.\n",
                   saved_mxcsr, mxcsr);
      std::abort();
    }
  });
#endif
}

}  // namespace green::detail
