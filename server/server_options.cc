#include "server/server_options.h"

#include <CLI/CLI.hpp>
#include <charconv>

namespace sprawl::server {

ParseOutcome ParseServerOptions(int argc, const char* const* argv) {
  ParseOutcome out;
  node::NodeConfig& node = out.options.node;
  std::string storage = "disk";
  std::string fsync = node.fsync.ToString();
  std::string level = "info";
  std::string format = "text";
  node.peer_port = node::kDefaultPeerPort;

  CLI::App app{"sprawl-server: a Sprawl node (broker) serving clients over ZeroMQ and HTTP"};
  app.set_config("--config", "", "TOML config file (keys as the long flag names)");
  app.add_option("--node-id", node.node_id, "Node identity")
      ->envname("SPRAWL_NODE_ID")
      ->capture_default_str();
  app.add_option("--data-dir", node.data_dir, "Data directory (disk storage)")
      ->envname("SPRAWL_DATA_DIR")
      ->capture_default_str();
  app.add_option("--storage", storage, "memory | disk")
      ->envname("SPRAWL_STORAGE")
      ->capture_default_str();
  app.add_option("--fsync", fsync, "always | interval:<ms> | never")
      ->envname("SPRAWL_FSYNC")
      ->capture_default_str();
  app.add_option("--bind", node.bind, "Address to listen on")
      ->envname("SPRAWL_BIND")
      ->capture_default_str();
  app.add_option("--client-port", node.client_port, "Client port (0 = any free port)")
      ->envname("SPRAWL_CLIENT_PORT")
      ->capture_default_str();
  app.add_option("--http-port", node.http_port, "HTTP admin port (0 = any free port)")
      ->envname("SPRAWL_HTTP_PORT")
      ->capture_default_str();
  app.add_option("--peer-port", node.peer_port,
                 "Peer port: where other nodes gossip with this one (0 = any free port)")
      ->envname("SPRAWL_PEER_PORT")
      ->capture_default_str();
  app.add_option("--join", node.join,
                 "Peer ports of nodes to join through, host:port[,host:port]; none = a new cluster")
      ->envname("SPRAWL_JOIN")
      ->delimiter(',');
  app.add_option("--bootstrap-expect", node.bootstrap_expect,
                 "Form the metadata group once gossip shows this many live members (the first "
                 "min(N, 5) ids, sorted, vote); 0 = join an existing group. Default: 1 without "
                 "--join, 0 with it")
      ->envname("SPRAWL_BOOTSTRAP_EXPECT");
  app.add_option("--rack", node.rack, "Rack or zone, for rack-aware placement")
      ->envname("SPRAWL_RACK");
  overlay::MembershipConfig& gossip = node.membership;
  app.add_option("--gossip-probe-interval-ms", gossip.probe_interval_ms,
                 "Membership: one probe of a peer per interval")
      ->envname("SPRAWL_GOSSIP_PROBE_INTERVAL_MS")
      ->capture_default_str();
  app.add_option("--gossip-probe-timeout-ms", gossip.probe_timeout_ms,
                 "Membership: wait for a direct ack before indirect probes")
      ->envname("SPRAWL_GOSSIP_PROBE_TIMEOUT_MS")
      ->capture_default_str();
  app.add_option("--gossip-indirect-probes", gossip.indirect_probes,
                 "Membership: peers asked to probe an unanswering member")
      ->envname("SPRAWL_GOSSIP_INDIRECT_PROBES")
      ->capture_default_str();
  app.add_option("--gossip-suspicion-mult", gossip.suspicion_mult,
                 "Membership: suspicion lasts mult * log10(max(n,10)) probe intervals at least")
      ->envname("SPRAWL_GOSSIP_SUSPICION_MULT")
      ->capture_default_str();
  app.add_option("--gossip-retransmit-mult", gossip.retransmit_mult,
                 "Membership: each update is gossiped mult * log10(n+1) times")
      ->envname("SPRAWL_GOSSIP_RETRANSMIT_MULT")
      ->capture_default_str();
  app.add_option("--gossip-push-pull-interval-ms", gossip.push_pull_interval_ms,
                 "Membership: full-state exchange with one random peer per interval")
      ->envname("SPRAWL_GOSSIP_PUSH_PULL_INTERVAL_MS")
      ->capture_default_str();
  app.add_option("--memory-tier-bytes", node.memory_tier_bytes,
                 "Bytes of the memory tiers of all partitions together (memory storage: all the "
                 "node keeps); the node's oldest batches go first beyond it. At least 1 MiB")
      ->envname("SPRAWL_MEMORY_TIER_BYTES")
      ->capture_default_str();
  app.add_option("--memory-per-partition", node.memory_bytes_per_partition,
                 "An additional cap on one partition's memory tier within --memory-tier-bytes; "
                 "0 = none, else at least 64 KiB")
      ->envname("SPRAWL_MEMORY_PER_PARTITION")
      ->capture_default_str();
  app.add_option("--max-pending-publish-bytes", node.max_pending_publish_bytes,
                 "Publishes in progress before RETRY_AFTER (64 KiB - 48 MiB)")
      ->envname("SPRAWL_MAX_PENDING_PUBLISH_BYTES")
      ->capture_default_str();
  std::string min_free_disk = "auto";
  app.add_option("--min-free-disk-bytes", min_free_disk,
                 "Bytes kept free on the data directory's file system: publishes are refused "
                 "(RESOURCE_EXHAUSTED) before they would use them. auto = 5% of the file "
                 "system, at most 1 GiB; 0 = no reserve")
      ->envname("SPRAWL_MIN_FREE_DISK_BYTES")
      ->capture_default_str();
  app.add_option("--rocksdb-db-options", node.rocksdb_db_options,
                 "Disk storage: RocksDB database options over the defaults, in RocksDB's "
                 "'name=value;name=value' syntax (docs/storage.md)")
      ->envname("SPRAWL_ROCKSDB_DB_OPTIONS");
  app.add_option("--rocksdb-log-options", node.rocksdb_log_options,
                 "Disk storage: RocksDB options of the column family that holds the records, "
                 "e.g. 'enable_blob_garbage_collection=true' (docs/storage.md)")
      ->envname("SPRAWL_ROCKSDB_LOG_OPTIONS");
  int64_t replace_after_ms = node.replace_after.count();
  app.add_option("--replace-after-ms", replace_after_ms,
                 "How long a member must be dead before the partition replicas it held are "
                 "placed on live members (0 = at once)")
      ->envname("SPRAWL_REPLACE_AFTER_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  int64_t leader_balance_after_ms = node.leader_balance_after.count();
  app.add_option("--leader-balance-after-ms", leader_balance_after_ms,
                 "How long a partition's preferred replica must be a caught-up voter before the "
                 "leadership is handed back to it (0 = never)")
      ->envname("SPRAWL_LEADER_BALANCE_AFTER_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--fault-injection", node.fault_injection,
               "For tests only: enable the HTTP routes that inject faults (/v1/faults/partition "
               "cuts this node off from its peers); never in production")
      ->envname("SPRAWL_FAULT_INJECTION");
  app.add_option("--log-level", level, "trace | debug | info | warn | error")
      ->envname("SPRAWL_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", format, "text | json")
      ->envname("SPRAWL_LOG_FORMAT")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    out.exit_code = e.get_exit_code() == 0 ? 0 : 2;
    out.message = e.get_exit_code() == 0 ? app.help() : std::string(e.what());
    return out;
  }
  auto fail = [&](const Status& s) {
    out.exit_code = 2;
    out.message = s.message();
    return out;
  };
  auto mode = storage::ParseStorageMode(storage);
  if (!mode.ok()) return fail(mode.status());
  node.storage = *mode;
  if (min_free_disk != "auto") {
    uint64_t bytes = 0;
    const auto [end, ec] =
        std::from_chars(min_free_disk.data(), min_free_disk.data() + min_free_disk.size(), bytes);
    if (ec != std::errc() || end != min_free_disk.data() + min_free_disk.size()) {
      return fail(
          InvalidArgument("--min-free-disk-bytes must be 'auto' or a number of bytes, not '" +
                          min_free_disk + "'"));
    }
    node.min_free_disk_bytes = bytes;
  }
  node.replace_after = std::chrono::milliseconds(replace_after_ms);
  node.leader_balance_after = std::chrono::milliseconds(leader_balance_after_ms);
  auto policy = storage::FsyncPolicy::Parse(fsync);
  if (!policy.ok()) return fail(policy.status());
  node.fsync = *policy;
  auto parsed_level = log::ParseLevel(level);
  if (!parsed_level.ok()) return fail(parsed_level.status());
  out.options.log_level = *parsed_level;
  auto parsed_format = log::ParseFormat(format);
  if (!parsed_format.ok()) return fail(parsed_format.status());
  out.options.log_format = *parsed_format;
  Status valid = node.Validate();
  if (!valid.ok()) return fail(valid);
  return out;
}

}  // namespace sprawl::server
