// The debug registry (G15): what gdb reads to list every greenlet of every
// thread, in a live process or a core file (lib/gdb/green_gdb.py). Each
// thread_state keeps its started greenlets and its main greenlet on an
// intrusive list (registry_add()/registry_remove(), greenlet_state.hpp), and
// the unstarted greenlets it created on another (greenlet_state::listed),
// touched on creation, start and end, never on a switch. This file
// keeps the process-wide half: the list of thread_states, changed only when
// a thread's runtime is created or destroyed, and the description of the
// saved frame that only backend/context.hpp knows.

#include <mutex>

#include "green/debug.hpp"
#include "runtime.hpp"

namespace green::detail {

// What a debugger needs besides the debug information: the version of this
// layout (bumped when the registry's shape changes, so an old script says
// so instead of showing garbage) and the frame a suspended context leaves.
struct debug_layout {
  unsigned version;
  saved_frame frame;
};

}  // namespace green::detail

// C names: debuggers look them up by these, whatever the C++ namespaces.
extern "C" {
// The first thread_state of the process (debug_next links the others).
[[gnu::used]] green::detail::thread_state* green_debug_threads = nullptr;
extern const green::detail::debug_layout green_debug_layout;
[[gnu::used]] const green::detail::debug_layout green_debug_layout{2, green::detail::kSavedFrame};
}

// The gdb extension, embedded so that gdb loads it by itself for any program
// linked with green, when the program's directory is in gdb's auto-load
// safe-path (README "Debugging with gdb"). Type 4 is an inline Python
// script whose first line is its name.
#if defined(GREEN_GDB_SCRIPT) && defined(__ELF__)
asm(".pushsection \".debug_gdb_scripts\", \"MS\",@progbits,1\n"
    ".byte 4\n"
    ".ascii \"green_gdb.py\\n\"\n"
    ".incbin \"" GREEN_GDB_SCRIPT
    "\"\n"
    ".byte 0\n"
    ".popsection\n");
#endif

namespace green::detail {

namespace {
std::mutex g_threads_mutex;
}  // namespace

void register_thread(thread_state* ts) noexcept {
  std::lock_guard<std::mutex> lock(g_threads_mutex);
  ts->debug_next = green_debug_threads;
  if (green_debug_threads != nullptr) green_debug_threads->debug_prev = ts;
  green_debug_threads = ts;
}

void unregister_thread(thread_state* ts) noexcept {
  {
    std::lock_guard<std::mutex> lock(g_threads_mutex);
    if (ts->debug_prev != nullptr) {
      ts->debug_prev->debug_next = ts->debug_next;
    } else {
      green_debug_threads = ts->debug_next;
    }
    if (ts->debug_next != nullptr) ts->debug_next->debug_prev = ts->debug_prev;
    ts->debug_prev = ts->debug_next = nullptr;
  }
  // Greenlets still linked are freed later, on whichever thread drops them
  // last: unlinked now, they never touch this thread_state again.
  for (registry_link* head : {&ts->greenlets, &ts->unstarted}) {
    for (registry_link* r = head->next; r != head;) {
      registry_link* next = r->next;
      *r = {};
      r = next;
    }
    head->prev = head->next = head;
  }
}

}  // namespace green::detail

namespace green {

std::size_t debug::registered_greenlets() noexcept {
  const detail::thread_state* ts = detail::tls_state;
  if (ts == nullptr) return 0;
  std::size_t n = 0;
  for (const detail::registry_link* head : {&ts->greenlets, &ts->unstarted}) {
    for (const detail::registry_link* r = head->next; r != head; r = r->next) ++n;
  }
  return n;
}

std::size_t debug::registered_threads() noexcept {
  std::lock_guard<std::mutex> lock(detail::g_threads_mutex);
  std::size_t n = 0;
  for (const detail::thread_state* ts = green_debug_threads; ts != nullptr; ts = ts->debug_next)
    ++n;
  return n;
}

}  // namespace green
