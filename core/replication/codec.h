#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/replication/entry.h"
#include "core/replication/message.h"
#include "core/util/result.h"

namespace sprawl::replication {

// The wire codec of Raft messages and of the membership carried in
// configuration entries (docs/protocol.md, "Raft messages"). Version 1.
inline constexpr uint8_t kRaftCodecVersion = 1;
// Bounds the decoder enforces on what the network sends.
inline constexpr size_t kMaxEntriesPerMessage = 65'536;
inline constexpr size_t kMaxEntryBytes = 64u << 20;
inline constexpr size_t kMaxSnapshotBytes = 1u << 30;
inline constexpr size_t kMaxMembers = 1'024;

// Appends the encoding of `m` to `out` (no allocation beyond out's growth).
void EncodeMessage(const Message& m, std::string* out);
std::string EncodeMessage(const Message& m);
// INVALID_ARGUMENT for anything truncated, oversized, of an unknown type or
// with fields that contradict each other (entries that do not follow the
// append's index, a snapshot on a message that is not one, trailing bytes);
// UNSUPPORTED_VERSION for another version. Never reads out of bounds.
Result<Message> DecodeMessage(std::string_view bytes);

std::string EncodeConfState(const ConfState& conf);
// INVALID_ARGUMENT unless the lists are sorted, disjoint, bounded and hold no 0.
Result<ConfState> DecodeConfState(std::string_view bytes);

}  // namespace sprawl::replication
