// The per-thread runtime: created on a thread's first green call, it holds
// the thread's main greenlet and current greenlet, and works through what
// other threads hand it (references and parent links dropped there). Its
// destruction at thread exit is where the thread's greenlets are killed or
// dropped unrun.

#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "green/greenlet.hpp"
#include "overflow.hpp"
#include "runtime.hpp"

namespace green {
namespace detail {

constinit thread_local thread_state* tls_state [[gnu::tls_model("initial-exec")]] = nullptr;

std::atomic<std::uint64_t> g_next_id{1};

namespace {

thread_local bool tls_torn_down = false;

struct thread_state_owner {
  thread_state* state = nullptr;
  ~thread_state_owner() { delete state; }
};
thread_local thread_state_owner tls_owner;

}  // namespace

thread_state::thread_state() {
  machine_context::init_thread();
  free_blocks.reserve(free_blocks_limit);
  rec = new thread_record;
  main = new greenlet_state;
  main->is_main = true;
  g_live_mains.fetch_add(1, std::memory_order_relaxed);
  // The thread's own local link (see greenlet_state::local_links) and the
  // reference it holds in refs, besides the thread's reference to main.
  main->local_links = 1;
  main->refs.store(2, std::memory_order_relaxed);
  main->id = next_id();
  std::strcpy(main->name, "main");
  rec->retain();
  main->thread.store(rec, std::memory_order_release);
  main->state.store(status::active, std::memory_order_release);
  current = main;
  rec->current.store(main, std::memory_order_relaxed);
  altstack = make_signal_altstack();
  tid = ::syscall(SYS_gettid);
  registry_add(*this, main);
  register_thread(this);
}

thread_state::~thread_state() {
  // Kill what other threads dropped while this thread can still run it.
  process_deleteme();
  std::vector<greenlet_state*> late;
  std::vector<greenlet_state*> late_links;
  std::vector<greenlet_state*> late_unlists;
  {
    std::lock_guard<std::mutex> lock(rec->deleteme_mutex);
    // Before other threads may free this thread's greenlets (they do once
    // it is not alive): none is linked to this thread_state any more.
    unregister_thread(this);
    rec->alive.store(false, std::memory_order_release);
    late.swap(rec->deleteme);
    late_links.swap(rec->link_releases);
    late_unlists.swap(rec->unlists);
    rec->has_deleteme.store(false, std::memory_order_relaxed);
  }
  // From here on, local links to this thread's greenlets are counted under
  // the record's mutex, by this thread and others alike.
  tls_state = nullptr;
  tls_torn_down = true;
  for (greenlet_state* g : late_links) drop_local_link_after_exit(rec, g);
  for (greenlet_state* g : late_unlists) release(g);  // unlinked by unregister_thread()
  // Releases that came too late to run anything: the thread no longer
  // lives, so a last one frees its greenlet unrun (G9.3, G9.5).
  for (greenlet_state* g : late) release(g);
  // The thread is no longer alive, so releasing these frees them unrun.
  for (greenlet_state* g : zombies) release(g);
  zombies.clear();
  trace = nullptr;
  rec->current.store(nullptr, std::memory_order_relaxed);
  drop_local_link_after_exit(rec, main);
  release(main);
  for (void* b : free_blocks) ::operator delete(b);
  free_signal_altstack(altstack);
  rec->release();
}

[[gnu::noinline]] thread_state& thread_state::get_slow() {
  thread_state* ts = tls_state;
  if (ts == nullptr) {
    if (tls_torn_down) {
      throw runtime_error(
          "green was used on a thread after its green state was destroyed (from a thread_local "
          "or static destructor that ran after thread exit began); create and switch greenlets "
          "before the thread starts exiting");
    }
    ts = new thread_state;
    tls_owner.state = ts;
    tls_state = ts;
  }
  if (ts->rec->has_deleteme.load(std::memory_order_relaxed)) ts->process_deleteme();
  return *ts;
}

void thread_state::process_deleteme() {
  std::vector<greenlet_state*> victims;
  std::vector<greenlet_state*> links;
  std::vector<greenlet_state*> unlists;
  {
    std::lock_guard<std::mutex> lock(rec->deleteme_mutex);
    victims.swap(rec->deleteme);
    links.swap(rec->link_releases);
    unlists.swap(rec->unlists);
    rec->has_deleteme.store(false, std::memory_order_relaxed);
  }
  for (greenlet_state* p : links) release_link(p, true);
  // Unstarted greenlets reparented on other threads (move_out_of_registry()):
  // unlinked from this thread's registry (G15.1); `listed` was cleared there.
  for (greenlet_state* g : unlists) {
    if (g->ureg.next != nullptr) {
      g->ureg.prev->next = g->ureg.next;
      g->ureg.next->prev = g->ureg.prev;
      g->ureg = {nullptr, nullptr};
    }
    release(g);
  }
  // References other threads dropped (release_foreign()): the last one
  // kills the greenlet here, on its own thread (G9.5).
  for (greenlet_state* g : victims) release(g);
}

}  // namespace detail

using detail::thread_state;

const greenlet& greenlet::current() { return thread_state::get().current->self; }

const greenlet& getcurrent() { return greenlet::current(); }

const greenlet& getmain() { return thread_state::get().main->self; }

bool thread_state_alive() noexcept {
  return detail::tls_state != nullptr || !detail::tls_torn_down;
}

}  // namespace green
