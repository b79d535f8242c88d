// Result<T>: a value or an Error with a human-readable message that names its context
// (which camera, which file). Used on the frame path and at every adapter boundary instead of
// exceptions; library exceptions are caught where they arise and turned into Errors.
// Thread-safety: plain value types; no shared state.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace glassbox {

struct Error {
  std::string message;

  // Prefixes the message with where it happened: "video.mp4: cannot open".
  Error within(const std::string& context) const { return Error{context + ": " + message}; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  // By value, so `for (auto& x : *make_result())` does not dangle.
  T value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// For operations that return nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

inline Status ok_status() { return Ok{}; }

}  // namespace glassbox
