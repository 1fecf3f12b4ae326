#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sprawl::broker {

// Assigns partitions [0, partitions) to members so that each gets
// floor(P/M) or ceil(P/M), keeping every member's current partitions as far
// as that balance allows (a join or leave moves as few partitions as
// possible). Deterministic: the same input gives the same output. `current`
// maps each member (all present members, possibly with no partitions) to
// what it owns now; the result has the same keys.
std::map<std::string, std::vector<uint32_t>> AssignSticky(
    const std::map<std::string, std::vector<uint32_t>>& current, uint32_t partitions);

}  // namespace sprawl::broker
