#include "core/storage/keys.h"

#include <charconv>

#include "core/util/byte_io.h"

namespace sprawl::storage::keys {

std::string Offset(uint32_t partition_id, uint64_t offset) {
  std::string out;
  out.reserve(12);
  ByteWriter w(&out);
  w.BigU32(partition_id);
  w.BigU64(offset);
  return out;
}

std::string PartitionEnd(uint32_t partition_id) {
  std::string out;
  ByteWriter w(&out);
  w.BigU32(partition_id);
  w.BigU64(~0ull);
  out.push_back('\0');  // sorts after the largest offset of this partition
  return out;
}

bool ParseOffset(std::string_view key, uint32_t* partition_id, uint64_t* offset) {
  if (key.size() != 12) return false;
  ByteReader r(key);
  return r.BigU32(partition_id) && r.BigU64(offset);
}

std::string Registry(const PartitionKey& key) {
  return std::string(kRegistryPrefix) + key.topic + "/" + std::to_string(key.partition);
}

bool ParseRegistry(std::string_view key, PartitionKey* out) {
  if (key.substr(0, kRegistryPrefix.size()) != kRegistryPrefix) return false;
  key.remove_prefix(kRegistryPrefix.size());
  const size_t slash = key.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  const std::string_view number = key.substr(slash + 1);
  uint32_t partition = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), partition);
  if (ec != std::errc() || end != number.data() + number.size()) return false;
  out->topic = std::string(key.substr(0, slash));
  out->partition = partition;
  return true;
}

std::string PartitionState(uint32_t partition_id, std::string_view field) {
  std::string out = "p/";
  ByteWriter w(&out);
  w.BigU32(partition_id);
  out += "/";
  out += field;
  return out;
}

std::string PartitionStateEnd(uint32_t partition_id) {
  std::string out = "p/";
  ByteWriter w(&out);
  w.BigU32(partition_id);
  out += "0";  // '0' sorts right after '/', so this bounds "p/<id>/..."
  return out;
}

}  // namespace sprawl::storage::keys
