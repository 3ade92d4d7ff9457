// green/context.hpp
//
// Greenlet-local state, the analogue of Python's contextvars as greenlet uses
// them (gr_context, G8). Every greenlet has its own context; a new
// greenlet starts with none, so every context_var reads its default, as in a
// new thread. The first set() inside a greenlet creates its context lazily.
//
//   green::context_var<int> request_id("request_id", 0);
//   green::greenlet worker([&] { request_id.set(7); return request_id.get(); });
//   worker.switch_();            // 7
//   request_id.get();            // still 0 in the creator
//
// A context can be shared (assign the same context to several greenlets:
// a set in one is seen by all) or copied (copy_context(): values are taken
// over, later sets stay private):
//
//   worker.set_gr_context(green::copy_context());
//
// Contexts are not thread-safe: share one between greenlets of one thread.

#ifndef GREEN_CONTEXT_HPP
#define GREEN_CONTEXT_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/value.hpp"

namespace green {

namespace detail {
struct context_data;
struct context_access;
}  // namespace detail

// context is a handle to a mapping from context_var to value. Copies of the
// handle refer to the same mapping; copy() makes an independent one.
class GREEN_API context {
 public:
  // context() creates a new, empty context.
  context();

  // copy() returns a new context holding the same values.
  context copy() const;

  // size() is the number of variables set in this context.
  std::size_t size() const noexcept;

  friend bool operator==(const context& a, const context& b) noexcept { return a.data_ == b.data_; }

 private:
  friend struct detail::context_access;
  explicit context(std::shared_ptr<detail::context_data> data) noexcept : data_(std::move(data)) {}
  std::shared_ptr<detail::context_data> data_;
};

// copy_context() returns a copy of the current greenlet's context (an empty
// context if it has none). Python: contextvars.copy_context().
GREEN_API context copy_context();

namespace detail {
GREEN_API std::uint64_t new_context_key() noexcept;
// Looks `key` up in the current greenlet's context; nullptr if unset.
GREEN_API const value* context_lookup(std::uint64_t key);
// Sets `key` in the current greenlet's context, creating the context lazily.
GREEN_API void context_store(std::uint64_t key, value v);
[[noreturn]] GREEN_API void throw_unset_context_var(const std::string& name);
}  // namespace detail

// context_var<T> is one greenlet-local variable. Python: contextvars.ContextVar.
template <class T>
class context_var {
 public:
  // context_var() declares a variable; `fallback` is returned by get() in a
  // context where the variable is not set.
  explicit context_var(std::string name, std::optional<T> fallback = std::nullopt)
      : name_(std::move(name)), key_(detail::new_context_key()), default_(std::move(fallback)) {}
  context_var(const context_var&) = delete;
  context_var& operator=(const context_var&) = delete;

  // get() reads the variable in the current greenlet's context.
  // Throws: green::lookup_error if it is unset and has no default
  // (Python: LookupError).
  T get() const {
    if (const value* v = detail::context_lookup(key_)) return value_cast<T>(*v);
    if (default_) return *default_;
    detail::throw_unset_context_var(name_);
  }

  // get_or() reads the variable, or returns `fallback` if it is unset.
  T get_or(T fallback) const {
    if (const value* v = detail::context_lookup(key_)) return value_cast<T>(*v);
    return fallback;
  }

  // set() sets the variable in the current greenlet's context.
  void set(T v) { detail::context_store(key_, value(std::move(v))); }

  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::uint64_t key_;
  std::optional<T> default_;
};

}  // namespace green

#endif  // GREEN_CONTEXT_HPP
