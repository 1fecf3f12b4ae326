#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/admin/static_assets.h"
#include "core/overlay/membership.h"
#include "core/storage/store_options.h"
#include "core/util/result.h"

namespace sprawl::node {

// Default ports of a node on its bind address.
inline constexpr uint16_t kDefaultClientPort = 7400;
inline constexpr uint16_t kDefaultPeerPort = 7401;
inline constexpr uint16_t kDefaultHttpPort = 7480;

// Everything a node needs to start: what sprawl-server reads from its flags,
// environment and config file (docs/configuration.md), and what an embedded
// node is given by its application.
struct NodeConfig {
  std::string node_id = "node-1";
  std::string data_dir = "./data";
  storage::StorageMode storage = storage::StorageMode::kDisk;
  storage::FsyncPolicy fsync;  // interval:10
  std::string bind = "127.0.0.1";
  uint16_t client_port = kDefaultClientPort;  // 0 = any free port
  uint16_t http_port = kDefaultHttpPort;      // 0 = any free port
  // Where other nodes reach this one (membership gossip); 0 = any free port.
  // Embedded nodes default to 0; sprawl-server to kDefaultPeerPort.
  uint16_t peer_port = 0;
  // Seeds to join through ("host:port" of their peer ports, or the
  // "tcp://host:port" a node reports); none = start a one-node cluster that
  // others may join.
  std::vector<std::string> join;
  std::string rack;  // for rack-aware placement; "" = none
  // How the cluster's metadata group is first formed (docs/replication.md):
  // N waits until gossip shows N live members and makes the first min(N, 5)
  // member ids, sorted, its voters; 0 joins a cluster whose group exists.
  // Unset: 1 without seeds (a lone node forms its own group at once), 0 with.
  std::optional<uint32_t> bootstrap_expect;
  uint32_t BootstrapExpect() const { return bootstrap_expect.value_or(join.empty() ? 1 : 0); }
  // Gossip timings (probe period and timeout, suspicion, push-pull): the
  // defaults detect a crashed node in about 2 s (docs/overlay.md).
  overlay::MembershipConfig membership;
  // The memory tiers of all partitions of the node together (memory mode:
  // everything the node keeps); the node's oldest batches go first beyond it.
  uint64_t memory_tier_bytes = 1ull << 30;
  // An additional cap on one partition's memory tier within that budget;
  // 0 = none.
  uint64_t memory_bytes_per_partition = 0;
  // Publishes in progress (appended, not yet acknowledged) before further
  // publishes get RETRY_AFTER. Below the storage writer's 64 MiB queue.
  uint64_t max_pending_publish_bytes = 32u << 20;
  // Disk mode: bytes kept free on the data directory's file system;
  // publishes get RESOURCE_EXHAUSTED before they would use them. nullopt:
  // 5% of the file system, at most 1 GiB; 0: no reserve.
  std::optional<uint64_t> min_free_disk_bytes;
  // Disk mode: RocksDB option strings ("name=value;...", RocksDB's syntax)
  // applied over the store's defaults, to the database and to the `log`
  // column family (docs/storage.md, section 14); empty keeps the defaults.
  // A string RocksDB refuses fails the node's start with INVALID_ARGUMENT.
  std::string rocksdb_db_options;
  std::string rocksdb_log_options;
  // The file system the store's RocksDB works through; null = the operating
  // system's. Tests inject disk faults through it.
  std::shared_ptr<rocksdb::FileSystem> file_system;
  // The web console the HTTP port serves at /ui (docs/console.md); empty =
  // none. sprawl-server passes the assets embedded in it (web/); embedded
  // nodes have none, so the bindings do not carry them.
  std::span<const admin::StaticAsset> console;
  // How long a member must have been dead (or gone) before the replicas it
  // held are placed on live members (docs/replication.md, "Replacing the
  // replicas of a gone member"); 0 = as soon as it is declared dead.
  std::chrono::milliseconds replace_after{300'000};
  // How long a partition's preferred replica (the first of its set) must be
  // a caught-up voter before its leader hands it the leadership back
  // (docs/replication.md, "Leader balance"); 0 = never.
  std::chrono::milliseconds leader_balance_after{60'000};
  // How often retention (topics' retention_ms / retention_bytes) runs.
  std::chrono::milliseconds retention_interval{30'000};
  // For tests only: the HTTP API's /v1/faults routes cut this node off from
  // its peers and heal it (docs/http-api.md). Off, they answer NOT_FOUND.
  bool fault_injection = false;

  // INVALID_ARGUMENT naming the field for a value a node cannot start with.
  Status Validate() const;
};

// "host:port" of a join seed given as "host:port" or "tcp://host:port".
std::string SeedHostPort(const std::string& seed);

}  // namespace sprawl::node
