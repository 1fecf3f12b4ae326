#pragma once

#include <cstdint>
#include <string_view>

namespace sprawl::protocol {

// The partition of a keyed record: XXH3-64 (seed 0) of the key bytes modulo
// the partition count. Every client computes the same function
// (docs/protocol.md, "Partitioning"), so a key always lands on the same
// partition while the count stays the same. Precondition: partitions > 0 and
// the key is not empty (records without a key are spread round-robin).
uint32_t PartitionForKey(std::string_view key, uint32_t partitions);

}  // namespace sprawl::protocol
