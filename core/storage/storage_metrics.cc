#include "core/storage/storage_metrics.h"

namespace sprawl::storage {

StorageMetrics::StorageMetrics(metrics::Registry& r)
    : appended_records(r.GetCounter("sprawl_storage_appended_records_total",
                                    "Records appended to partition logs.")),
      appended_bytes(r.GetCounter("sprawl_storage_appended_bytes_total",
                                  "Encoded batch bytes appended to partition logs.")),
      rejected_batches(r.GetCounter("sprawl_storage_rejected_batches_total",
                                    "Batches refused by append because they failed validation.")),
      read_records_memory(r.GetCounter("sprawl_storage_read_records_total",
                                       "Records returned by reads, by the tier that served them.",
                                       {{"tier", "memory"}})),
      read_records_disk(r.GetCounter("sprawl_storage_read_records_total",
                                     "Records returned by reads, by the tier that served them.",
                                     {{"tier", "disk"}})),
      memory_dropped_records(r.GetCounter(
          "sprawl_storage_memory_dropped_records_total",
          "Memory mode: records dropped to keep the memory tier within the node's budget "
          "(or a partition's cap).")),
      memory_evicted_bytes(r.GetCounter(
          "sprawl_storage_memory_evicted_bytes_total",
          "Disk mode: bytes of batches already in RocksDB evicted from the memory tier to keep "
          "it within the node's budget (or a partition's cap); reads of them go to RocksDB.")),
      memory_tier_bytes(r.GetGauge("sprawl_storage_memory_tier_bytes",
                                   "Bytes held by the memory tiers and the disk read-aheads of "
                                   "all partitions: what the node's memory budget counts.")),
      read_ahead_bytes(r.GetGauge("sprawl_storage_read_ahead_bytes",
                                  "Bytes of batches read ahead from RocksDB and kept for the "
                                  "reads that follow (part of the memory budget).")),
      memory_tier_budget_bytes(
          r.GetGauge("sprawl_storage_memory_tier_budget_bytes",
                     "The node's budget for the memory tiers and read-aheads of all partitions.")),
      retention_deleted_records(r.GetCounter("sprawl_storage_retention_deleted_records_total",
                                             "Records deleted by time or size retention.")),
      retention_deleted_bytes(r.GetCounter("sprawl_storage_retention_deleted_bytes_total",
                                           "Stored bytes deleted by time or size retention.")),
      corrupt_batches(r.GetCounter("sprawl_storage_corrupt_batches_total",
                                   "Stored batches that failed checksum or structure checks.")),
      recovery_tail_cuts(r.GetCounter(
          "sprawl_storage_recovery_tail_cuts_total",
          "Partitions whose corrupt tail was cut on open (from the first bad batch).")),
      disk_writes(r.GetCounter("sprawl_storage_disk_writes_total",
                               "RocksDB write groups issued by the group-commit writer.")),
      disk_write_requests(r.GetCounter("sprawl_storage_disk_write_requests_total",
                                       "Write requests merged into RocksDB write groups.")),
      disk_write_bytes(r.GetCounter("sprawl_storage_disk_write_bytes_total",
                                    "Key and value bytes written to RocksDB.")),
      disk_write_errors(r.GetCounter("sprawl_storage_disk_write_errors_total",
                                     "RocksDB writes or syncs that failed.")),
      fsyncs(r.GetCounter("sprawl_storage_fsyncs_total", "Write-ahead log syncs.")),
      writer_queue_bytes(r.GetGauge("sprawl_storage_writer_queue_bytes",
                                    "Bytes waiting for the group-commit writer.")),
      partitions(r.GetGauge("sprawl_storage_partitions", "Partitions open in the store.")),
      failed(r.GetGauge("sprawl_storage_failed",
                        "1 when a disk write or sync failed and the store refuses writes until "
                        "it is reopened.")),
      disk_available_bytes(
          r.GetGauge("sprawl_storage_disk_available_bytes",
                     "Free bytes on the data directory's file system (re-read every 250 ms).")),
      disk_reserve_bytes(r.GetGauge(
          "sprawl_storage_disk_reserve_bytes",
          "Bytes kept free on the data directory's file system: appends stop above it.")),
      disk_full(r.GetGauge("sprawl_storage_disk_full",
                           "1 while appends are refused because the disk is nearly full.")),
      disk_full_refusals(
          r.GetCounter("sprawl_storage_disk_full_refusals_total",
                       "Appends refused with RESOURCE_EXHAUSTED because the disk is nearly full.")),
      disk_write_seconds(
          r.GetHistogram("sprawl_storage_disk_write_seconds", "Time of one RocksDB write group.")),
      fsync_seconds(r.GetHistogram("sprawl_storage_fsync_seconds", "Time of one WAL sync.")) {}

}  // namespace sprawl::storage
