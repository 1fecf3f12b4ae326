#include "core/protocol/partitioner.h"

#include "core/util/checksum.h"

namespace sprawl::protocol {

uint32_t PartitionForKey(std::string_view key, uint32_t partitions) {
  return static_cast<uint32_t>(Checksum64(key.data(), key.size()) % partitions);
}

}  // namespace sprawl::protocol
