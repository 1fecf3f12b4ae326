#pragma once

#include "core/util/metrics.h"

namespace sprawl::storage {

// Every storage counter and histogram, registered once per store in the
// node's registry so /metrics shows them.
struct StorageMetrics {
  explicit StorageMetrics(metrics::Registry& registry);

  metrics::Counter& appended_records;
  metrics::Counter& appended_bytes;
  metrics::Counter& rejected_batches;
  metrics::Counter& read_records_memory;
  metrics::Counter& read_records_disk;
  metrics::Counter& memory_dropped_records;  // memory mode: over the budget, never retained
  metrics::Counter& memory_evicted_bytes;    // disk mode: written batches no longer cached
  metrics::Gauge& memory_tier_bytes;         // held by memory tiers and read-aheads (the budget)
  metrics::Gauge& read_ahead_bytes;          // the read-aheads' part of it
  metrics::Gauge& memory_tier_budget_bytes;  // the node's budget for them
  metrics::Counter& retention_deleted_records;
  metrics::Counter& retention_deleted_bytes;
  metrics::Counter& corrupt_batches;
  metrics::Counter& recovery_tail_cuts;
  metrics::Counter& disk_writes;          // RocksDB write groups
  metrics::Counter& disk_write_requests;  // submissions merged into them
  metrics::Counter& disk_write_bytes;
  metrics::Counter& disk_write_errors;
  metrics::Counter& fsyncs;
  metrics::Gauge& writer_queue_bytes;
  metrics::Gauge& partitions;
  metrics::Gauge& failed;  // 1 once a write or sync failed: writes refused until reopened
  metrics::Gauge& disk_available_bytes;  // free space of the data directory's file system
  metrics::Gauge& disk_reserve_bytes;    // kept free: appends refused below it
  metrics::Gauge& disk_full;             // 1 while appends are refused for lack of space
  metrics::Counter& disk_full_refusals;  // appends refused for lack of space
  metrics::Histogram& disk_write_seconds;
  metrics::Histogram& fsync_seconds;
};

}  // namespace sprawl::storage
