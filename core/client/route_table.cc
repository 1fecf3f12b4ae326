#include "core/client/route_table.h"

namespace sprawl::client {
namespace {

// The protocol's partition limit (docs/protocol.md, "Topics"): a METADATA
// answer naming a larger partition is not believed, so a bad reply cannot
// make the table allocate without bound.
constexpr uint32_t kMaxPartitions = 1024;

}  // namespace

std::string RouteTable::Leader(std::string_view topic, uint32_t partition) const {
  auto it = leaders_.find(topic);
  if (it == leaders_.end() || partition >= it->second.size()) return {};
  return it->second[partition];
}

void RouteTable::SetLeader(const std::string& topic, uint32_t partition, std::string address) {
  if (partition >= kMaxPartitions) return;
  std::vector<std::string>& routes = leaders_[topic];
  if (partition >= routes.size()) routes.resize(partition + 1);
  routes[partition] = std::move(address);
}

void RouteTable::DropLeader(std::string_view topic, uint32_t partition) {
  auto it = leaders_.find(topic);
  if (it == leaders_.end() || partition >= it->second.size()) return;
  it->second[partition].clear();
}

std::string RouteTable::Group(const std::string& topic, const std::string& group) const {
  auto it = groups_.find({topic, group});
  return it == groups_.end() ? std::string() : it->second;
}

void RouteTable::SetGroup(const std::string& topic, const std::string& group, std::string address) {
  groups_[{topic, group}] = std::move(address);
}

void RouteTable::DropGroup(const std::string& topic, const std::string& group) {
  groups_.erase({topic, group});
}

void RouteTable::Learn(const protocol::pb::MetadataResponse& metadata) {
  for (const protocol::pb::TopicMetadata& topic : metadata.topics()) {
    for (const protocol::pb::PartitionMetadata& p : topic.partitions()) {
      if (p.leader_address().empty()) {
        DropLeader(topic.name(), p.partition());
      } else {
        SetLeader(topic.name(), p.partition(), p.leader_address());
      }
    }
  }
}

std::vector<std::string> RouteTable::DropAddress(const std::string& address) {
  std::vector<std::string> affected;
  for (auto& [topic, routes] : leaders_) {
    bool lost = false;
    for (std::string& route : routes) {
      if (route != address) continue;
      route.clear();
      lost = true;
    }
    if (lost) affected.push_back(topic);
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    it = it->second == address ? groups_.erase(it) : std::next(it);
  }
  return affected;
}

size_t RouteTable::partition_routes() const {
  size_t n = 0;
  for (const auto& [topic, routes] : leaders_) {
    for (const std::string& route : routes) n += route.empty() ? 0 : 1;
  }
  return n;
}

}  // namespace sprawl::client
