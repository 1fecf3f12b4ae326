#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/util/status.h"

namespace sprawl {

// A value of type T, or the error Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit
  Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {  // NOLINT: implicit
    assert(!std::get<1>(state_).ok() && "a Result holding no value needs an error Status");
  }

  bool ok() const { return state_.index() == 0; }

  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(state_); }

  // Precondition: ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace sprawl

// Evaluates `expr` (a Result); on error returns its Status, else moves the
// value into `lhs` (which may be a declaration such as `auto x`).
#define SPRAWL_ASSIGN_OR_RETURN(lhs, expr) \
  SPRAWL_ASSIGN_OR_RETURN_IMPL(SPRAWL_CONCAT(sprawl_result_, __LINE__), lhs, expr)
#define SPRAWL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) {                                   \
    return tmp.status();                             \
  }                                                  \
  lhs = std::move(tmp).value()
