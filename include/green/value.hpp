// green/value.hpp
//
// What a switch carries. Python's switch(*args, **kwargs) carries any objects;
// green carries a green::value (a copyable type-erased value, like std::any),
// packed from the C++ arguments by Python's rule (docs/semantics.md G3.2):
//
//   g.switch_()             -> empty value             (Python: ())
//   g.switch_(x)            -> x                       (a single value is unwrapped)
//   g.switch_(x, y)         -> std::tuple<X, Y>{x, y}
//   g.switch_(kw)           -> kw                      (kw is a green::kwargs)
//   g.switch_(x, kw)        -> std::tuple<std::tuple<X>, kwargs>
//   g.switch_(x, kwargs{})  -> x                       (empty kwargs are ignored)
//
// Arguments are stored decayed (a string literal arrives as const char*).
// value_cast<T>() reads a value back and reports a type mismatch as a
// green::type_error naming both types; v.get_if<T>() returns a pointer or null.
//
//   green::value v = g.switch_(20, 22);
//   auto [a, b] = green::value_cast<std::tuple<int, int>>(v);

#ifndef GREEN_VALUE_HPP
#define GREEN_VALUE_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "green/config.hpp"
#include "green/errors.hpp"

namespace green {

namespace detail {
struct value_access;
}

// value is the payload of a switch, a return value or a throw_() result: any
// copyable C++ object, or nothing. Its interface is std::any's (has_value(),
// type(), reset(), emplace(), swap()) plus get_if<T>().
//
// Why not std::any: a switch moves its payload twice and destroys it once,
// and std::any does each through an indirect call to its manager, a large
// share of a switch's cost (docs/design.md has the figures). value keeps
// objects of up to 16 bytes inline and records in its type tag whether
// moving is a plain copy of its bytes (trivially copyable inline objects,
// and every object held on the heap, whose move is a pointer copy) and
// whether destroying is a no-op, so an int or a pointer crosses a switch
// with no call at all.
class value {
 public:
  value() noexcept = default;
  value(const value& other) : tag_(other.tag_) {
    if ((tag_ & kPlainBytes) == kPlainBytes) {
      copy_words(other);
    } else if (tag_ != 0) {
      ops()->copy(*this, other);
    }
  }
  value(value&& other) noexcept : tag_(other.tag_) {
    relocate_from(other);
    other.tag_ = 0;
  }
  template <class T, class D = std::decay_t<T>>
  requires(!std::is_same_v<D, value> && std::is_copy_constructible_v<D> &&
           std::is_constructible_v<D, T&&>)
      value(T&& v) {  // NOLINT(google-explicit-constructor): std::any converts too
    construct<D>(std::forward<T>(v));
  }
  value& operator=(const value& other) {
    if (this != &other) value(other).swap(*this);
    return *this;
  }
  value& operator=(value&& other) noexcept {
    if (this != &other) {
      reset();
      tag_ = other.tag_;
      relocate_from(other);
      other.tag_ = 0;
    }
    return *this;
  }
  template <class T, class D = std::decay_t<T>>
  requires(!std::is_same_v<D, value> && std::is_copy_constructible_v<D> &&
           std::is_constructible_v<D, T&&>) value&
  operator=(T&& v) {
    value(std::forward<T>(v)).swap(*this);
    return *this;
  }
  ~value() { reset(); }

  // emplace<T>(args...) destroys what is held and constructs a T in place.
  template <class T, class... A>
  requires std::is_copy_constructible_v<std::decay_t<T>> std::decay_t<T>
  &emplace(A&&... args) {
    reset();
    construct<std::decay_t<T>>(std::forward<A>(args)...);
    return *get_if<std::decay_t<T>>();
  }

  bool has_value() const noexcept { return tag_ != 0; }
  // type() is typeid of the held object, typeid(void) when empty.
  const std::type_info& type() const noexcept { return tag_ != 0 ? ops()->type() : typeid(void); }
  void reset() noexcept {
    if (tag_ != 0 && (tag_ & kTrivialDestroy) == 0) ops()->destroy(*this);
    tag_ = 0;
  }
  void swap(value& other) noexcept {
    value tmp(std::move(other));
    other = std::move(*this);
    *this = std::move(tmp);
  }

  // get_if<T>() points at the held T, or is null if the value holds
  // something else (or nothing).
  template <class T>
  T* get_if() noexcept {
    return holds<T>() ? static_cast<T*>(address()) : nullptr;
  }
  template <class T>
  const T* get_if() const noexcept {
    return holds<T>() ? static_cast<const T*>(const_cast<value*>(this)->address()) : nullptr;
  }

 private:
  friend struct detail::value_access;

  // tag_ is the address of the held type's operations (0: empty) with three
  // flags in its low bits, so the hot paths test bits instead of calling.
  static constexpr std::uintptr_t kRelocate = 1;        // moving is copying the bytes
  static constexpr std::uintptr_t kTrivialDestroy = 2;  // destroying does nothing
  static constexpr std::uintptr_t kHeap = 4;            // storage_.ptr owns the object
  static constexpr std::uintptr_t kFlags = kRelocate | kTrivialDestroy | kHeap;
  // Both: a trivially copyable object held inline, copied by its bytes too.
  static constexpr std::uintptr_t kPlainBytes = kRelocate | kTrivialDestroy;

  struct alignas(8) operations {
    const std::type_info& (*type)() noexcept;
    void (*copy)(value& to, const value& from);
    void (*move)(value& to, value& from) noexcept;  // inline, non-trivial types only
    void (*destroy)(value& v) noexcept;
  };

  template <class T>
  static constexpr bool stored_inline = sizeof(T) <= 16 &&
                                        alignof(T) <= 8 && std::is_nothrow_move_constructible_v<T>;

  template <class T>
  struct model {
    static T* get(value& v) noexcept {
      if constexpr (stored_inline<T>) {
        return std::launder(reinterpret_cast<T*>(&v.storage_));
      } else {
        return static_cast<T*>(v.storage_.ptr);
      }
    }
    static const std::type_info& type() noexcept { return typeid(T); }
    static void copy(value& to, const value& from) {
      const T& src = *get(const_cast<value&>(from));
      if constexpr (stored_inline<T>) {
        ::new (static_cast<void*>(&to.storage_)) T(src);
      } else {
        to.storage_.ptr = new T(src);
      }
    }
    static void move(value& to, value& from) noexcept {
      if constexpr (stored_inline<T>) {
        T* src = get(from);
        ::new (static_cast<void*>(&to.storage_)) T(std::move(*src));
        src->~T();
      }
    }
    static void destroy(value& v) noexcept {
      if constexpr (stored_inline<T>) {
        get(v)->~T();
      } else {
        delete get(v);
      }
    }
    static constexpr operations ops{&type, &copy, &move, &destroy};
    static constexpr std::uintptr_t flags =
        !stored_inline<T> ? (kHeap | kRelocate)
        : std::is_trivially_copyable_v<T>
            ? kPlainBytes
            : (std::is_trivially_destructible_v<T> ? kTrivialDestroy : std::uintptr_t{0});
  };

  template <class T>
  static std::uintptr_t tag_for() noexcept {
    return reinterpret_cast<std::uintptr_t>(&model<T>::ops) | model<T>::flags;
  }

  template <class T, class... A>
  void construct(A&&... args) {
    if constexpr (model<T>::flags == kPlainBytes && sizeof(T) < sizeof(storage)) {
      // Whole words: the receiver of a switch copies the buffer as two words
      // (copy_words()), and a word load is forwarded from the store buffer
      // only if one store wrote all of it (a 4-byte int alone would not).
      storage whole{};
      ::new (static_cast<void*>(&whole)) T(std::forward<A>(args)...);
      std::memcpy(&storage_, &whole, sizeof storage_);
    } else if constexpr (stored_inline<T>) {
      ::new (static_cast<void*>(&storage_)) T(std::forward<A>(args)...);
    } else {
      storage_.ptr = new T(std::forward<A>(args)...);
    }
    tag_ = tag_for<T>();
  }

  // relocate_from() moves other's object into this value, whose tag_ is
  // already other's; the caller then empties other without destroying.
  void relocate_from(value& other) noexcept {
    if (tag_ & kRelocate) {
      copy_words(other);
    } else if (tag_ != 0) {
      ops()->move(*this, other);
    }
  }

  // copy_words() copies the buffer as two 8-byte words. A switch's receiver
  // reads the buffer right after the sender wrote it; one 16-byte load
  // spanning the sender's two 8-byte stores cannot be forwarded from the
  // store buffer and stalls, on every switch. The empty asm keeps the
  // compiler from merging the two copies into that 16-byte load.
  void copy_words(const value& other) noexcept {
    std::uint64_t w0;
    std::uint64_t w1;
    std::memcpy(&w0, other.storage_.bytes, 8);
    std::memcpy(&w1, other.storage_.bytes + 8, 8);
    asm("" : "+r"(w0), "+r"(w1));
    std::memcpy(storage_.bytes, &w0, 8);
    std::memcpy(storage_.bytes + 8, &w1, 8);
  }

  template <class T>
  bool holds() const noexcept {
    return tag_ == tag_for<T>() || holds_slow(typeid(T));
  }
  // A shared library may hold its own copy of model<T>::ops, so a tag that
  // differs can still be the same type. Out of line: comparing type_infos
  // may compare names, which would keep value_cast from being inlined.
  [[gnu::noinline]] bool holds_slow(const std::type_info& t) const noexcept {
    return tag_ != 0 && ops()->type() == t;
  }
  const operations* ops() const noexcept {
    return reinterpret_cast<const operations*>(tag_ & ~kFlags);
  }
  void* address() noexcept {
    return (tag_ & kHeap) != 0 ? storage_.ptr : static_cast<void*>(&storage_);
  }

  union storage {
    void* ptr;
    alignas(8) unsigned char bytes[16];
  };
  std::uintptr_t tag_ = 0;
  storage storage_;
};

// kwargs is the analogue of Python's **kwargs: passed as the last argument of
// switch_() it is packed as Python packs keyword arguments.
using kwargs = std::map<std::string, value>;

namespace detail {
// value_access is for the switch (lib/greenlet.cpp): whether moving `v` is a
// copy of its bytes (or nothing), so that path needs no call.
struct value_access {
  static bool moves_by_copy(const value& v) noexcept {
    return (v.tag_ & value::kRelocate) != 0 || v.tag_ == 0;
  }
};

[[noreturn]] GREEN_API void throw_bad_value_cast(const std::type_info& want,
                                                 const std::type_info& have);

template <class T>
struct is_kwargs : std::is_same<std::remove_cvref_t<T>, kwargs> {};

template <class Tuple, std::size_t... I>
auto tuple_prefix(Tuple&& t, std::index_sequence<I...>) {
  return std::make_tuple(std::get<I>(std::forward<Tuple>(t))...);
}

template <class... A>
value pack_positional(A&&... a) {
  if constexpr (sizeof...(A) == 0) {
    return value{};
  } else if constexpr (sizeof...(A) == 1) {
    return value(std::forward<A>(a)...);
  } else {
    return value(std::make_tuple(std::forward<A>(a)...));
  }
}
}  // namespace detail

// pack() applies Python's packing rule to the arguments of a switch (see the
// table above). switch_() and throw_() results are built with it.
template <class... A>
value pack(A&&... a) {
  if constexpr (sizeof...(A) == 0) {
    return value{};
  } else {
    using last = std::tuple_element_t<sizeof...(A) - 1, std::tuple<std::remove_cvref_t<A>...>>;
    if constexpr (!std::is_same_v<last, kwargs>) {
      return detail::pack_positional(std::forward<A>(a)...);
    } else {
      auto all = std::forward_as_tuple(std::forward<A>(a)...);
      kwargs kw = std::get<sizeof...(A) - 1>(all);
      auto positional = detail::tuple_prefix(all, std::make_index_sequence<sizeof...(A) - 1>{});
      if (kw.empty()) {
        return std::apply([](auto&&... p) { return detail::pack_positional(std::move(p)...); },
                          std::move(positional));
      }
      if constexpr (sizeof...(A) == 1) {
        return value(std::move(kw));
      } else {
        return value(std::make_tuple(std::move(positional), std::move(kw)));
      }
    }
  }
}

// value_cast<T>(v) returns the T held by `v` (moved out of an rvalue).
// Throws: green::type_error naming the wanted and the held type on a mismatch.
template <class T>
T value_cast(const value& v) {
  if (const T* p = v.get_if<T>()) return *p;
  detail::throw_bad_value_cast(typeid(T), v.type());
}
template <class T>
T value_cast(value&& v) {
  if (T* p = v.get_if<T>()) return std::move(*p);
  detail::throw_bad_value_cast(typeid(T), v.type());
}

}  // namespace green

#endif  // GREEN_VALUE_HPP
