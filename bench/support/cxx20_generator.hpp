// bench/support/cxx20_generator.hpp
//
// cxx20_generator<Y, S> is the smallest useful C++20 coroutine generator: the
// `cxx20_minimal` peer. The promise suspends initially and finally
// (suspend_always), hands the yielded value out by address and, when S is not
// void, makes `co_yield` evaluate to the value given to send(). Nothing else:
// no symmetric transfer, no recursive-yield support, no exception transport
// (an escaping exception terminates), no allocator. One heap frame per call.
//
//   cxx20_generator<int> count() { for (int i = 0;; ++i) co_yield i; }
//   auto g = count();
//   const int* p = g.next();   // nullptr once the body has returned

#ifndef GREEN_BENCH_CXX20_GENERATOR_HPP
#define GREEN_BENCH_CXX20_GENERATOR_HPP

#include <coroutine>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace green_bench {

template <class Y, class S = void>
class cxx20_generator {
 public:
  struct promise_type {
    const Y* value = nullptr;
    const std::conditional_t<std::is_void_v<S>, int, S>* sent = nullptr;

    struct yield_awaiter : std::suspend_always {
      promise_type* p;
      decltype(auto) await_resume() const noexcept {
        if constexpr (!std::is_void_v<S>) return static_cast<const S&>(*p->sent);
      }
    };
    cxx20_generator get_return_object() noexcept {
      return cxx20_generator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    // The operand outlives the suspension (it lives until the end of the
    // full-expression holding co_yield), so its address stays valid.
    yield_awaiter yield_value(const Y& v) noexcept {
      value = std::addressof(v);
      return {{}, this};
    }
    void return_void() noexcept {}
    [[noreturn]] void unhandled_exception() noexcept { std::terminate(); }
  };

  cxx20_generator(cxx20_generator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  cxx20_generator& operator=(cxx20_generator&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~cxx20_generator() {
    if (h_) h_.destroy();
  }

  // next() resumes the body to its next co_yield; nullptr once it returned.
  const Y* next() {
    h_.resume();
    return h_.done() ? nullptr : h_.promise().value;
  }
  // send() is next() that makes the pending co_yield evaluate to `s`.
  template <class T = S>
  requires(!std::is_void_v<T>) const Y* send(const T& s) {
    h_.promise().sent = std::addressof(s);
    return next();
  }

 private:
  explicit cxx20_generator(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_CXX20_GENERATOR_HPP
