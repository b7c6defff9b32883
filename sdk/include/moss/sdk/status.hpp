// Status and Result: how errors cross the plugin boundary (as values, never as exceptions).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace moss::sdk {

// Error codes. Values are part of the ABI: new codes are only appended.
enum class Code : std::int32_t {
  ok = 0,
  invalid_argument = 1,     // the caller's input is wrong (bad JSON, schema violation)
  not_found = 2,            // a named thing does not exist
  failed_precondition = 3,  // the object is not in a state to do this (not initialised, locked)
  unavailable = 4,          // a peer is unreachable; retrying later may work
  deadline_exceeded = 5,    // a timeout expired
  resource_exhausted = 6,   // a quota, rate limit or budget is used up
  unimplemented = 7,        // an optional method the plugin does not provide
  internal = 8,             // a bug or broken invariant inside the plugin
  plugin_exception = 9,     // the plugin threw; the SDK glue caught it
  context_overflow = 10,    // an LLM request does not fit the model's context window
  invalid_reply = 11,       // a peer (LLM, server) answered with something unparseable
};

// Returns the stable lower-case name of a code, e.g. "invalid_argument".
constexpr const char* code_name(Code code) noexcept {
  switch (code) {
    case Code::ok: return "ok";
    case Code::invalid_argument: return "invalid_argument";
    case Code::not_found: return "not_found";
    case Code::failed_precondition: return "failed_precondition";
    case Code::unavailable: return "unavailable";
    case Code::deadline_exceeded: return "deadline_exceeded";
    case Code::resource_exhausted: return "resource_exhausted";
    case Code::unimplemented: return "unimplemented";
    case Code::internal: return "internal";
    case Code::plugin_exception: return "plugin_exception";
    case Code::context_overflow: return "context_overflow";
    case Code::invalid_reply: return "invalid_reply";
  }
  return "unknown";
}

// The outcome of an operation: ok, or a code with a human-readable message.
class Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status success() { return Status(); }

  bool ok() const noexcept { return code_ == Code::ok; }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // "code: message", or "ok".
  std::string to_string() const {
    if (ok()) return "ok";
    return std::string(code_name(code_)) + ": " + message_;
  }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

inline Status error(Code code, std::string message) {
  return Status(code, std::move(message));
}

// A value or an error. T must be default-constructible; the layout is a plain
// pair so it is obvious across the boundary.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // Anything T can be built from, so `return "text";` works for Result<std::string>.
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_convertible_v<U&&, Status> &&
           !std::is_same_v<std::remove_cvref_t<U>, T> &&
           !std::is_same_v<std::remove_cvref_t<U>, Result>) Result(U&& value)
      : value_(std::forward<U>(value)) {}  // NOLINT: implicit by design
  // An error. An ok Status without a value is a programming error and becomes `internal`.
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok())
      status_ = Status(Code::internal, "Result built from an ok Status without a value");
  }

  bool ok() const noexcept { return status_.ok(); }
  const Status& status() const noexcept { return status_; }

  // Precondition: ok().
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  T& operator*() & { return value_; }
  const T& operator*() const& { return value_; }

 private:
  Status status_;
  T value_{};
};

}  // namespace moss::sdk
