#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/protocol/messages.h"

namespace sprawl::client {

// Where the client sends what concerns one partition or one group: the
// client address of the partition's leader, and of the node a group was
// joined on, as last learned from METADATA answers, NOT_LEADER hints and
// successful joins. An empty address means "not known": the caller then uses
// its bootstrap node. Not thread-safe: the owner guards it.
class RouteTable {
 public:
  // The leader of (topic, partition), or "".
  std::string Leader(std::string_view topic, uint32_t partition) const;
  void SetLeader(const std::string& topic, uint32_t partition, std::string address);
  void DropLeader(std::string_view topic, uint32_t partition);

  // The node (topic, group) was joined on, or "".
  std::string Group(const std::string& topic, const std::string& group) const;
  void SetGroup(const std::string& topic, const std::string& group, std::string address);
  void DropGroup(const std::string& topic, const std::string& group);

  // Takes every partition of a METADATA answer: a named leader becomes the
  // route, an unknown one ("") drops it. Topics it leaves out are unchanged.
  void Learn(const protocol::pb::MetadataResponse& metadata);

  // Forgets every route through `address` (a node that stopped answering);
  // returns the topics that lost a partition route.
  std::vector<std::string> DropAddress(const std::string& address);

  // Partition routes known (tests, diagnostics).
  size_t partition_routes() const;

 private:
  // topic -> leader address by partition index ("" = unknown). Heterogeneous
  // lookup: a route is looked up per publish batch without building a key.
  std::map<std::string, std::vector<std::string>, std::less<>> leaders_;
  std::map<std::pair<std::string, std::string>, std::string> groups_;
};

}  // namespace sprawl::client
