#pragma once

#include <cstdint>
#include <string_view>

namespace sprawl {

// The one table of error codes. Numbers are part of the wire protocol and the
// C ABI: never renumber or reuse one. Columns: enumerator, number, name,
// retriable by default, meaning. docs/errors.md mirrors this table and a unit
// test checks that it does.
// clang-format off
#define SPRAWL_ERROR_CODES(X)                                                                    \
  X(kOk, 0, "OK", false, "Success.")                                                             \
  X(kInvalidArgument, 1, "INVALID_ARGUMENT", false,                                             \
    "The request is malformed or a value is out of its allowed range.")                          \
  X(kNotFound, 2, "NOT_FOUND", false, "The named object does not exist.")                        \
  X(kAlreadyExists, 3, "ALREADY_EXISTS", false, "An object with that name already exists.")      \
  X(kOffsetOutOfRange, 4, "OFFSET_OUT_OF_RANGE", false,                                          \
    "The offset is outside the partition's retained range.")                                     \
  X(kDataCorruption, 5, "DATA_CORRUPTION", false,                                                \
    "Stored or received bytes failed their checksum or structure checks.")                       \
  X(kIoError, 6, "IO_ERROR", true, "The operating system or storage engine reported an error.")  \
  X(kNotAStore, 7, "NOT_A_STORE", false, "The data directory does not hold a Sprawl store.")      \
  X(kUnsupportedVersion, 8, "UNSUPPORTED_VERSION", false,                                        \
    "The data or message uses a format version this build does not understand.")                 \
  X(kResourceExhausted, 9, "RESOURCE_EXHAUSTED", true,                                           \
    "A bounded queue or buffer is full; retry later.")                                           \
  X(kClosed, 10, "CLOSED", false, "The object was closed and can no longer be used.")            \
  X(kTimeout, 11, "TIMEOUT", true, "The operation did not complete in time.")                    \
  X(kInternal, 12, "INTERNAL", false, "An invariant was violated inside Sprawl; this is a bug.") \
  X(kNotLeader, 13, "NOT_LEADER", true,                                                          \
    "This node does not lead the partition; the reply names the node to ask.")                   \
  X(kOutOfOrderSequence, 14, "OUT_OF_ORDER_SEQUENCE", false,                                     \
    "An idempotent producer's sequence skipped ahead; batches were lost before this one.")       \
  X(kMessageTooLarge, 15, "MESSAGE_TOO_LARGE", false,                                            \
    "A message or batch exceeds the topic's or the protocol's size limit.")                      \
  X(kRetryAfter, 16, "RETRY_AFTER", true,                                                        \
    "The node is over capacity; retry after the delay the reply suggests.")                      \
  X(kUnknownMember, 17, "UNKNOWN_MEMBER", false,                                                 \
    "The consumer group does not know this member (its session expired); join again.")        \
  X(kProducerFenced, 18, "PRODUCER_FENCED", false,                                               \
    "Another instance of this named producer started since; this one may no longer publish.")
// clang-format on

enum class ErrorCode : uint16_t {
#define SPRAWL_X(name, number, text, retriable, meaning) name = number,
  SPRAWL_ERROR_CODES(SPRAWL_X)
#undef SPRAWL_X
};

// Stable upper-case name of a code, e.g. "OFFSET_OUT_OF_RANGE".
std::string_view ErrorCodeName(ErrorCode code);
// Whether an error of this code is worth retrying unchanged.
bool ErrorCodeRetriable(ErrorCode code);
// One-sentence meaning from the table above.
std::string_view ErrorCodeMeaning(ErrorCode code);

}  // namespace sprawl
