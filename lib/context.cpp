// Greenlet-local contexts (spec 1.10). A context is a map from variable key
// to value; each greenlet points at one (or none). Sharing a context between
// greenlets is sharing the pointer; copy_context() copies the map.

#include <atomic>
#include <unordered_map>

#include "green/context.hpp"
#include "green/greenlet.hpp"
#include "greenlet_state.hpp"

namespace green {
namespace detail {

struct context_data {
  std::unordered_map<std::uint64_t, value> values;
};

struct context_access {
  static const std::shared_ptr<context_data>& data(const context& c) { return c.data_; }
  static context make(std::shared_ptr<context_data> d) { return context(std::move(d)); }
};

greenlet_state* current_state();
void check_context_access(greenlet_state* g, const char* verb);

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
