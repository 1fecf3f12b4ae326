#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/overlay/member.h"
#include "core/util/result.h"

namespace sprawl::overlay {

// One piece of gossip: "member X is in state S at incarnation I". `from`
// names who suspects, so suspicions from different nodes count as
// independent confirmations (Lifeguard).
struct Update {
  MemberState state = MemberState::kAlive;
  uint64_t incarnation = 0;
  NodeMeta meta;
  std::string from;

  friend bool operator==(const Update&, const Update&) = default;
};

enum class MessageKind : uint8_t {
  kPing = 1,           // "are you alive?" to `target`
  kAck = 2,            // the answer to a ping with the same sequence
  kPingReq = 3,        // "probe `target` for me" (indirect probe)
  kPushPull = 4,       // full state, answered with kPushPullReply
  kPushPullReply = 5,  // full state
};

// A membership message (the GOSSIP body on the peer port).
struct Message {
  MessageKind kind = MessageKind::kPing;
  std::string sender;           // node id
  std::string sender_address;   // its peer port, where answers go
  uint64_t sequence = 0;        // probe sequence (ping, ack, ping-req)
  std::string target;           // ping / ping-req: the probed node's id
  std::string target_address;   // ping-req: where to probe it
  std::vector<Update> updates;  // piggybacked gossip, or the full state

  friend bool operator==(const Message&, const Message&) = default;
};

// Bounds a decoder enforces on what the network sends.
inline constexpr size_t kMaxUpdatesPerMessage = 4096;
inline constexpr size_t kMaxStringBytes = 256;
inline constexpr uint8_t kCodecVersion = 1;

// The binary layout (docs/overlay.md): u8 version, u8 kind, then LEB128
// varints for numbers and length-prefixed strings, the updates last.
std::string Encode(const Message& message);
// INVALID_ARGUMENT for anything malformed, truncated, oversized, or of an
// unknown version, kind or state; never reads out of bounds.
Result<Message> Decode(std::string_view bytes);

}  // namespace sprawl::overlay
