// Catch-all glue used by the generated adapters: no exception ever crosses the boundary.
#pragma once

#include <exception>
#include <functional>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "moss/sdk/status.hpp"

namespace moss::sdk::detail {

inline Status status_from_current_exception(const char* method) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Status(Code::resource_exhausted, std::string(method) + ": out of memory");
  } catch (const std::exception& e) {
    return Status(Code::plugin_exception, std::string(method) + " threw: " + e.what());
  } catch (...) {
    return Status(Code::plugin_exception, std::string(method) + " threw a non-standard exception");
  }
}

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<Result<T>> : std::true_type {};

// Calls fn() and turns anything it throws into an error value of the same return type.
// `R` is Status or Result<T>.
template <class R, class Fn>
R guarded(const char* method, Fn&& fn) noexcept {
  static_assert(std::is_same_v<R, Status> || is_result<R>::value,
                "moss SDK: a guarded call must return moss::sdk::Status or moss::sdk::Result<T>");
  try {
    return std::forward<Fn>(fn)();
  } catch (...) {
    try {
      return R(status_from_current_exception(method));
    } catch (...) {
      // Building the error string itself failed (out of memory); nothing sensible is left.
      std::terminate();
    }
  }
}

}  // namespace moss::sdk::detail

namespace moss::sdk::detail {

// Runs fn(), which returns void (throw to fail) or Status, and yields a Status.
template <class Fn>
Status void_or_status(Fn&& fn) {
  if constexpr (std::is_void_v<std::invoke_result_t<Fn>>) {
    std::forward<Fn>(fn)();
    return Status();
  } else {
    return Status(std::forward<Fn>(fn)());
  }
}

// init() is optional for plugin classes and may return void (throw to refuse) or Status.
// An optional method the class declares (by name) but with a signature the adapter cannot
// call would otherwise be skipped in silence; each adapter static_asserts against that with
// `!requires { &Impl::name; } || <callable as expected>`.
template <class Impl, class Context>
Status call_init(Impl& impl, const Context& context) noexcept {
  static_assert(
      !requires { &Impl::init; } || requires { impl.init(context); },
      "MOSS_PLUGIN: T::init must be `void init(const moss::sdk::InitContext&)` "
      "(or return moss::sdk::Status)");
  if constexpr (requires { impl.init(context); }) {
    return guarded<Status>("init",
                           [&] { return void_or_status([&] { return impl.init(context); }); });
  } else {
    return Status();
  }
}

}  // namespace moss::sdk::detail
