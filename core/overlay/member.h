#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sprawl::overlay {

// What the cluster knows of a node beside its liveness: travels with every
// alive update (docs/overlay.md).
struct NodeMeta {
  std::string id;
  std::string peer_address;  // tcp://host:port of its peer port
  std::string client_address;
  std::string http_address;
  std::string rack;  // "" = no rack
  int64_t start_time_ms = 0;
  uint32_t load = 0;  // partitions it serves, for placement reports

  friend bool operator==(const NodeMeta&, const NodeMeta&) = default;
};

enum class MemberState : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };

std::string_view MemberStateName(MemberState state);

// One member as a node sees it.
struct Member {
  NodeMeta meta;
  MemberState state = MemberState::kAlive;
  uint64_t incarnation = 0;
  int64_t state_since_ms = 0;  // when this node last saw the state change
};

}  // namespace sprawl::overlay
