// Greenlet-local contexts (G8). A context is a map from variable key
// to value; each greenlet points at one (or none). Sharing a context between
// greenlets is sharing the pointer; copy_context() copies the map.

#include <atomic>
#include <unordered_map>

#include "green/context.hpp"
#include "green/greenlet.hpp"
#include "runtime.hpp"

namespace green {
namespace detail {

struct context_data {
  std::unordered_map<std::uint64_t, value> values;
};

struct context_access {
  static const std::shared_ptr<context_data>& data(const context& c) { return c.data_; }
  static context make(std::shared_ptr<context_data> d) { return context(std::move(d)); }
};

namespace {
// The greenlet whose context get()/set() reads.
greenlet_state* current_state() { return thread_state::get().current; }

// A greenlet's context is a plain shared_ptr that its thread reads and
// replaces without a lock (every context_var get()/set() in the greenlet),
// so another thread may touch it only once that thread has exited. Refusing
// only while the greenlet runs would be check-then-act: it can be switched
// in right after the check. An unstarted greenlet belongs to the thread it
// will start on, its parent's: that thread can start it at any time, also
// without this handle (a child finishing into it).
void check_context_access(greenlet_state* g, const char* verb) {
  thread_record* owner = lineage_owner(g);
  thread_state* ts = tls_state;
  if (owner == nullptr || (ts != nullptr && ts->rec == owner)) return;
  if (!owner->alive.load(std::memory_order_acquire)) return;
  throw value_error(std::string("cannot ") + verb + " context of " + describe(g) +
                    ": it belongs to a different thread (an unstarted greenlet: to its parent's, "
                    "where it will start). A greenlet's context can be read or set only on that "
                    "thread, or after that thread has exited; hand the work to that thread (Python "
                    "allows it while the greenlet is not running, and raises ValueError: cannot " +
                    verb + " context of a greenlet that is running in a different thread)");
}
}  // namespace

namespace {
std::atomic<std::uint64_t> g_next_key{1};
}

std::uint64_t new_context_key() noexcept {
  return g_next_key.fetch_add(1, std::memory_order_relaxed);
}

const value* context_lookup(std::uint64_t key) {
  greenlet_state* g = current_state();
  if (!g->gr_context) return nullptr;
  auto it = g->gr_context->values.find(key);
  return it == g->gr_context->values.end() ? nullptr : &it->second;
}

void context_store(std::uint64_t key, value v) {
  greenlet_state* g = current_state();
  if (!g->gr_context) g->gr_context = std::make_shared<context_data>();
  g->gr_context->values[key] = std::move(v);
}

void throw_unset_context_var(const std::string& name) {
  throw lookup_error("context_var '" + name +
                     "' is not set in the current greenlet's context and has no default; set() it "
                     "first or give it a default (Python: LookupError)");
}

}  // namespace detail

context::context() : data_(std::make_shared<detail::context_data>()) {}

context context::copy() const { return context(std::make_shared<detail::context_data>(*data_)); }

std::size_t context::size() const noexcept { return data_->values.size(); }

context copy_context() {
  detail::greenlet_state* g = detail::current_state();
  if (!g->gr_context) return context();
  return detail::context_access::make(std::make_shared<detail::context_data>(*g->gr_context));
}

std::optional<context> greenlet::gr_context() const {
  if (state_ == nullptr) throw error("gr_context(): empty greenlet handle");
  detail::check_context_access(state_, "get");
  if (!state_->gr_context) return std::nullopt;
  return detail::context_access::make(state_->gr_context);
}

void greenlet::set_gr_context(std::optional<context> ctx) const {
  if (state_ == nullptr) throw error("set_gr_context(): empty greenlet handle");
  detail::check_context_access(state_, "set");
  state_->gr_context = ctx ? detail::context_access::data(*ctx) : nullptr;
}

}  // namespace green
