#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "core/util/error_code.h"

namespace sprawl {

// The outcome of an operation: OK, or an error code with a message a person
// can act on and a retriable bit. Errors are values in the core; no exception
// crosses a module boundary.
class [[nodiscard]] Status {
 public:
  Status() = default;
  // An error with the code's default retriable bit.
  Status(ErrorCode code, std::string message)
      : code_(code), retriable_(ErrorCodeRetriable(code)), message_(std::move(message)) {}
  Status(ErrorCode code, std::string message, bool retriable)
      : code_(code), retriable_(retriable), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  bool retriable() const { return retriable_; }
  const std::string& message() const { return message_; }

  // "CODE: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed by `context` ("context: message").
  Status WithContext(std::string_view context) const;

  // NOT_LEADER: the client address of the node to ask instead ("" = none
  // known). Travels in the error reply's `leader_hint`.
  const std::string& leader_hint() const { return leader_hint_; }
  Status WithLeaderHint(std::string hint) const {
    Status s = *this;
    s.leader_hint_ = std::move(hint);
    return s;
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  bool retriable_ = false;
  std::string message_;
  std::string leader_hint_;
};

inline Status InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Status OffsetOutOfRange(std::string m) {
  return {ErrorCode::kOffsetOutOfRange, std::move(m)};
}
inline Status DataCorruption(std::string m) { return {ErrorCode::kDataCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {ErrorCode::kIoError, std::move(m)}; }
inline Status NotAStore(std::string m) { return {ErrorCode::kNotAStore, std::move(m)}; }
inline Status UnsupportedVersion(std::string m) {
  return {ErrorCode::kUnsupportedVersion, std::move(m)};
}
inline Status ResourceExhausted(std::string m) {
  return {ErrorCode::kResourceExhausted, std::move(m)};
}
inline Status Closed(std::string m) { return {ErrorCode::kClosed, std::move(m)}; }
inline Status Timeout(std::string m) { return {ErrorCode::kTimeout, std::move(m)}; }
inline Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
// NOT_LEADER (retriable) naming where to go instead.
inline Status NotLeader(std::string m, std::string leader_hint) {
  return Status(ErrorCode::kNotLeader, std::move(m)).WithLeaderHint(std::move(leader_hint));
}

}  // namespace sprawl

#define SPRAWL_CONCAT_INNER(a, b) a##b
#define SPRAWL_CONCAT(a, b) SPRAWL_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is an error.
#define SPRAWL_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::sprawl::Status sprawl_status_ = (expr); \
    if (!sprawl_status_.ok()) {               \
      return sprawl_status_;                  \
    }                                         \
  } while (0)
