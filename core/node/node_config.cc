#include "core/node/node_config.h"

namespace sprawl::node {

std::string SeedHostPort(const std::string& seed) {
  constexpr std::string_view kScheme = "tcp://";
  return seed.starts_with(kScheme) ? seed.substr(kScheme.size()) : seed;
}

Status NodeConfig::Validate() const {
  if (retention_interval.count() <= 0) {
    return InvalidArgument("retention interval must be positive");
  }
  if (replace_after.count() < 0) return InvalidArgument("--replace-after-ms must not be negative");
  if (leader_balance_after.count() < 0) {
    return InvalidArgument("--leader-balance-after-ms must not be negative");
  }
  if (node_id.empty() || node_id.size() > 128) {
    return InvalidArgument("node id must be 1 to 128 characters long");
  }
  for (const char c : node_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgument("node id '" + node_id +
                             "' may contain only letters, digits, '.', '_' and '-'");
    }
  }
  if (storage == storage::StorageMode::kDisk && data_dir.empty()) {
    return InvalidArgument("data dir must be set for disk storage");
  }
  if (bind.empty()) return InvalidArgument("bind address must not be empty");
  if (client_port != 0 && client_port == http_port) {
    return InvalidArgument("client port and HTTP port must differ (both " +
                           std::to_string(client_port) + ")");
  }
  if (peer_port != 0 && (peer_port == client_port || peer_port == http_port)) {
    return InvalidArgument("the peer port must differ from the client and HTTP ports (" +
                           std::to_string(peer_port) + ")");
  }
  for (const std::string& listed : join) {
    const std::string seed = SeedHostPort(listed);
    const size_t colon = seed.rfind(':');
    const bool ok = colon != std::string::npos && colon > 0 && colon + 1 < seed.size() &&
                    seed.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                    seed.size() - colon - 1 <= 5 && std::stoul(seed.substr(colon + 1)) > 0 &&
                    std::stoul(seed.substr(colon + 1)) <= 65535;
    if (!ok) return InvalidArgument("join seed '" + listed + "' is not host:port");
  }
  if (rack.size() > 64) return InvalidArgument("rack must be at most 64 characters");
  if (bootstrap_expect && *bootstrap_expect > 1000) {
    return InvalidArgument("bootstrap-expect must be at most 1000, got " +
                           std::to_string(*bootstrap_expect));
  }
  if (bootstrap_expect && *bootstrap_expect > 1 && join.empty()) {
    return InvalidArgument("bootstrap-expect " + std::to_string(*bootstrap_expect) +
                           " needs --join seeds to find the other members");
  }
  SPRAWL_RETURN_IF_ERROR(membership.Validate());
  if (memory_tier_bytes < (1u << 20)) {
    return InvalidArgument("memory tier bytes must be at least 1 MiB");
  }
  if (memory_bytes_per_partition != 0 && memory_bytes_per_partition < (1u << 16)) {
    return InvalidArgument("memory per partition must be 0 (no cap) or at least 64 KiB");
  }
  if (max_pending_publish_bytes < (1u << 16) || max_pending_publish_bytes > (48u << 20)) {
    return InvalidArgument("max pending publish bytes must be between 64 KiB and 48 MiB");
  }
  return Status::Ok();
}

}  // namespace sprawl::node
