#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace sprawl::meta {

// One change of the cluster's topic metadata: the data of an entry of the
// metadata Raft group. Every node applies the same commands in the same
// order to its MetaState, so every node reaches the same topics.
struct MetaCommand {
  enum class Kind : uint8_t { kCreate = 1, kAlter = 2, kDelete = 3 };
  Kind kind = Kind::kCreate;
  // "<node id>/<incarnation>/<n>": the node that asked, which answers its
  // client once it applied the command; unique per request, across restarts.
  std::string request_id;
  std::string topic;
  // kCreate: the new topic's id, drawn by the node that proposed it.
  std::string topic_id;
  // kCreate: the whole configuration (broker::EncodeTopicConfig);
  // kAlter: the protobuf TopicConfig holding the fields to change.
  std::string config;

  friend bool operator==(const MetaCommand&, const MetaCommand&) = default;
};

inline constexpr uint8_t kMetaCommandVersion = 1;
inline constexpr size_t kMaxMetaFieldBytes = 64u << 10;

std::string EncodeMetaCommand(const MetaCommand& command);
// INVALID_ARGUMENT for anything truncated, oversized, of an unknown kind or
// with trailing bytes; UNSUPPORTED_VERSION for a newer version. Never reads
// out of bounds (fuzzed by fuzz/meta_fuzz.cc).
Result<MetaCommand> DecodeMetaCommand(std::string_view bytes);

}  // namespace sprawl::meta
