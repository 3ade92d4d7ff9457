// green/hub/local.hpp
//
// local<T>: greenlet-local storage, gevent.local.local. Each greenlet (the
// main greenlet, a spawned task, any greenlet, on any thread) sees its own T,
// built on its first access from the arguments given to the local's
// constructor (gevent re-runs __init__ with the original arguments in each
// greenlet). A greenlet never sees another's value, its spawner's included.
//
//   green::local<std::string> user("anonymous");
//   green::spawn([&] { *user = "alice"; handle(); });  // handle() sees "alice"
//   *user;                                             // still "anonymous" here
//
// Rules (docs/semantics.md, H10): per greenlet, lazily constructed (H10.1);
// destroyed when a spawned task finishes, when the thread exits (its main
// greenlet, and any other greenlet's value still there), or when the local
// is destroyed, whichever comes first (H10.2); usable from several threads
// (H10.3). Unlike context_var it is keyed by the greenlet itself, not by its
// context, so sharing or copying contexts does not share values.

#ifndef GREEN_HUB_LOCAL_HPP
#define GREEN_HUB_LOCAL_HPP

#include <concepts>
#include <functional>
#include <memory>
#include <tuple>
#include <utility>

#include "green/config.hpp"

namespace green {

namespace detail {
struct local_core;
GREEN_API std::shared_ptr<local_core> make_local_core();
// The current greenlet's value, or null.
GREEN_API void* local_find(local_core& c);
// Stores the current greenlet's value and returns it.
GREEN_API void* local_store(const std::shared_ptr<local_core>& c, std::shared_ptr<void> v);
GREEN_API bool local_erase(local_core& c);
GREEN_API void local_clear(local_core& c) noexcept;
}  // namespace detail

template <class T>
class local {
 public:
  // local(args...) keeps copies of `args`; each greenlet's value is
  // T(args...) made from them on its first access.
  template <class... A>
  requires std::constructible_from < T, const std::decay_t<A>
  &... > explicit local(A&&... args)
      : core_(detail::make_local_core()),
  make_([tup = std::make_tuple(std::forward<A>(args)...)] {
    return std::apply([](const auto&... a) { return std::make_shared<T>(a...); }, tup);
  }) {}
  local(const local&) = delete;
  local& operator=(const local&) = delete;
  // Destroys every greenlet's value (on the calling thread). Destroy a local
  // only once no greenlet of another thread uses it.
  ~local() { detail::local_clear(*core_); }

  // get() is the current greenlet's value, constructed now if it has none.
  // The reference stays valid until that greenlet dies or the local is
  // destroyed. A constructor of T that blocks is fine (other greenlets run
  // meanwhile); one that reads this same local recurses.
  T& get() {
    if (void* p = detail::local_find(*core_)) return *static_cast<T*>(p);
    std::shared_ptr<T> v = make_();
    return *static_cast<T*>(detail::local_store(core_, std::move(v)));
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

  // has_value(): the current greenlet has constructed its value.
  bool has_value() const { return detail::local_find(*core_) != nullptr; }
  // reset() destroys the current greenlet's value; the next access builds a
  // new one (gevent: deleting the attributes).
  void reset() { detail::local_erase(*core_); }

 private:
  std::shared_ptr<detail::local_core> core_;
  std::function<std::shared_ptr<T>()> make_;
};

}  // namespace green

#endif  // GREEN_HUB_LOCAL_HPP
