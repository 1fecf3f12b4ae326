#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "core/storage/storage_metrics.h"
#include "core/storage/store_options.h"
#include "core/util/result.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// Reads the usage of the file system holding `dir` (statvfs).
Result<DiskUsage> StatDisk(const std::string& dir);

// Keeps a reserve of free space on the store's file system. RocksDB must
// never meet a full disk: its flushes and compactions need room, and the
// distribution's build aborts the process on the next WAL write after one
// failed with ENOSPC. So appends are refused with RESOURCE_EXHAUSTED
// (retriable) before they would eat into the reserve; cursor, group and
// Raft state writes and retention's deletions still go through and use it.
//
// Free space is re-read every `period` on a thread of its own, and every
// admitted append is subtracted at once, so a burst between two readings
// cannot overshoot the reserve.
class DiskSpaceGuard {
 public:
  using Probe = std::function<Result<DiskUsage>(const std::string& dir)>;

  // The reserve when none is configured: 5% of the file system, at most 1 GiB.
  static uint64_t DefaultReserve(uint64_t capacity);

  // `reserve_bytes`: nullopt picks DefaultReserve; 0 turns the guard off.
  // Reads the usage once before returning (an error there is the caller's).
  static Result<std::unique_ptr<DiskSpaceGuard>> Start(std::string dir,
                                                       std::optional<uint64_t> reserve_bytes,
                                                       StorageMetrics& metrics, Probe probe,
                                                       std::chrono::milliseconds period);
  ~DiskSpaceGuard();

  // OK when `bytes` more fit above the reserve (and counts them as used);
  // RESOURCE_EXHAUSTED naming the free space, the reserve and the setting
  // otherwise.
  Status Admit(uint64_t bytes);

  // Re-reads the file system's usage now (the thread does it every period).
  void Refresh();

  uint64_t reserve() const { return reserve_; }
  uint64_t available() const { return available_.load(); }

 private:
  DiskSpaceGuard(std::string dir, StorageMetrics& metrics, Probe probe,
                 std::chrono::milliseconds period);
  void RefreshPeriodically();
  void SetFull(bool full);

  const std::string dir_;
  StorageMetrics& metrics_;
  const Probe probe_;
  const std::chrono::milliseconds period_;
  uint64_t reserve_ = 0;
  std::atomic<uint64_t> available_{0};
  std::atomic<bool> full_{false};

  Mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sprawl::storage
