#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/meta/meta_state.h"

namespace sprawl::meta {

// The replica sets a placed topic takes when the members in `gone` (dead
// or left for longer than the node's --replace-after) are replaced: in each
// partition, a gone member's place goes to the first member of
// `ranked(partition)` (the live members in the partition's placement order)
// that the set does not hold yet. A partition with no such member keeps its
// set. Nullopt when nothing changes: a topic with one replica per partition,
// one not placed, or none of its replicas gone. Pure.
std::optional<std::vector<std::vector<std::string>>> ReplaceGoneReplicas(
    const MetaTopic& topic, const std::set<std::string, std::less<>>& gone,
    const std::function<std::vector<std::string>(uint32_t partition)>& ranked);

}  // namespace sprawl::meta
