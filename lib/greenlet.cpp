// The public members of green::greenlet that are neither handles (lifetime.cpp)
// nor the switch itself (switch.cpp): throw_, the parent, the function,
// state queries and names.

#include <algorithm>
#include <cstring>
#include <string>

#include "green/greenlet.hpp"
#include "runtime.hpp"

namespace green {

using detail::greenlet_state;
using detail::status;
using detail::thread_state;

detail::runnable::~runnable() = default;

value greenlet::throw_() const { return throw_(std::make_exception_ptr(greenlet_exit{})); }

value greenlet::throw_(std::exception_ptr ex) const {
  if (state_ == nullptr) detail::throw_empty_handle();
  if (!ex) {
    throw type_error(
        "throw_(): the exception_ptr is empty; pass an exception object or a non-empty "
        "std::exception_ptr (Python: TypeError: exceptions must be classes, or instances)");
  }
  return detail::do_switch(thread_state::get(), state_, nullptr, &ex);
}

std::optional<greenlet> greenlet::parent() const {
  if (state_ == nullptr) detail::throw_empty_handle();
  if (state_->parent == nullptr) return std::nullopt;
  return from_native(state_->parent);
}

void greenlet::set_parent(const greenlet& p) const {
  if (state_ == nullptr || p.state_ == nullptr) {
    throw type_error(
        "set_parent(): empty greenlet handle; a parent must be a greenlet (Python: "
        "TypeError: Expected any type of greenlet)");
  }
  if (state_->is_main) {
    throw attribute_error(
        "set_parent(): cannot set the parent of a main greenlet (Python: "
        "AttributeError: cannot set the parent of a main greenlet)");
  }
  for (greenlet_state* g = p.state_; g != nullptr; g = g->parent) {
    if (g == state_) {
      throw value_error("set_parent(): cyclic parent chain: " + detail::describe(state_) +
                        " would become its own ancestor (Python: ValueError: cyclic parent chain)");
    }
  }
  if (state_->started()) {
    detail::thread_record* mine = state_->thread.load(std::memory_order_acquire);
    detail::thread_state* ts = detail::tls_state;
    if (ts == nullptr || ts->rec != mine) {
      throw greenlet_error("set_parent(): " + detail::describe(state_) +
                           " belongs to a different thread; reparent it from its own thread");
    }
    if (detail::lineage_owner(p.state_) != mine) {
      throw value_error(
          "set_parent(): parent cannot be on a different thread: " + detail::describe(state_) +
          " has started on this thread and " + detail::describe(p.state_) +
          " belongs to another (Python: ValueError: parent cannot be on a different "
          "thread)");
    }
  }
  const bool local = detail::acquire_link(p.state_);
  greenlet_state* old = std::exchange(state_->parent, p.state_);
  const bool old_local = std::exchange(state_->link_local, local);
  if (state_->listed) detail::move_out_of_registry(state_, old);
  detail::release_link(old, old_local);
}

void greenlet::set_runnable(std::unique_ptr<detail::runnable> fn) const {
  if (state_ == nullptr) detail::throw_empty_handle();
  if (state_->is_main) {
    throw attribute_error(
        "set_run(): a main greenlet has no function (Python: AttributeError: Main "
        "greenlets do not have a run attribute)");
  }
  if (state_->started()) {
    throw attribute_error("set_run(): run cannot be set after the start of the greenlet (" +
                          detail::describe(state_) + ")");
  }
  state_->destroy_run();
  state_->run = fn.release();
}

bool greenlet::has_run() const {
  if (state_ == nullptr) detail::throw_empty_handle();
  return state_->run != nullptr && !state_->started();
}

bool greenlet::started() const noexcept { return state_ != nullptr && state_->started(); }

bool greenlet::dead() const noexcept {
  if (state_ == nullptr) return false;
  status st = state_->state.load(std::memory_order_acquire);
  if (st == status::dead) return true;
  if (st == status::unstarted) return false;
  detail::thread_record* t = state_->thread.load(std::memory_order_acquire);
  return t != nullptr && !t->alive.load(std::memory_order_acquire);
}

greenlet::operator bool() const noexcept {
  return state_ != nullptr && state_->state.load(std::memory_order_acquire) == status::active &&
         !dead();
}

bool greenlet::is_main() const noexcept { return state_ != nullptr && state_->is_main; }

std::uint64_t greenlet::id() const noexcept { return state_ == nullptr ? 0 : state_->id; }

void greenlet::set_name(std::string_view name) const {
  if (state_ == nullptr) detail::throw_empty_handle();
  std::size_t n = std::min(name.size(), sizeof(state_->name) - 1);
  std::memcpy(state_->name, name.data(), n);
  state_->name[n] = '\0';
}

std::string greenlet::name() const {
  if (state_ == nullptr) detail::throw_empty_handle();
  return state_->name;
}

}  // namespace green
