#pragma once

#include <cstddef>
#include <cstdint>

// The protocol bodies generated from sprawl.proto. Include this header rather
// than the generated one so that the generated path stays in one place.
#include "sprawl.pb.h"  // IWYU pragma: export

namespace sprawl::protocol {
namespace pb = ::sprawl::protocol::v1;

// A group member's byte budget when its join leaves it 0, and a reader by
// offset's bytes per fetch by default. Enough that 1,000 credits of messages
// up to 8 KiB are limited by count, not bytes (small-message throughput is
// unchanged); small enough that a consumer's unacked data stays bounded and
// far below the 64 MiB one transport message may carry. At 1 MB messages it
// keeps 8 in flight: a push per round trip that keeps a consumer busy.
inline constexpr uint64_t kDefaultMaxInFlightBytes = 8u << 20;

// The most batches one message carries (a fetch reply, a group push, a
// publish request): each is a frame, and a receiver refuses a message of
// more than this many plus its header and body (transport::Limits). Senders
// split or stop short at it.
inline constexpr size_t kMaxBatchesPerMessage = 1024;
}  // namespace sprawl::protocol
