#include "core/storage/disk_space_guard.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/util/logging.h"

namespace sprawl::storage {

Result<DiskUsage> StatDisk(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) {
    return IoError("cannot read the free space of " + dir + ": " + std::strerror(errno));
  }
  return DiskUsage{static_cast<uint64_t>(st.f_blocks) * st.f_frsize,
                   static_cast<uint64_t>(st.f_bavail) * st.f_frsize};
}

uint64_t DiskSpaceGuard::DefaultReserve(uint64_t capacity) {
  return std::min<uint64_t>(capacity / 20, 1ull << 30);
}

DiskSpaceGuard::DiskSpaceGuard(std::string dir, StorageMetrics& metrics, Probe probe,
                               std::chrono::milliseconds period)
    : dir_(std::move(dir)), metrics_(metrics), probe_(std::move(probe)), period_(period) {}

Result<std::unique_ptr<DiskSpaceGuard>> DiskSpaceGuard::Start(std::string dir,
                                                              std::optional<uint64_t> reserve_bytes,
                                                              StorageMetrics& metrics, Probe probe,
                                                              std::chrono::milliseconds period) {
  std::unique_ptr<DiskSpaceGuard> guard(
      new DiskSpaceGuard(std::move(dir), metrics, std::move(probe), period));
  SPRAWL_ASSIGN_OR_RETURN(const DiskUsage usage, guard->probe_(guard->dir_));
  guard->reserve_ = reserve_bytes ? *reserve_bytes : DefaultReserve(usage.capacity);
  guard->available_.store(usage.available);
  metrics.disk_available_bytes.Set(static_cast<int64_t>(usage.available));
  metrics.disk_reserve_bytes.Set(static_cast<int64_t>(guard->reserve_));
  if (guard->reserve_ > 0) {
    if (usage.available < guard->reserve_) guard->SetFull(true);
    guard->thread_ = std::thread([g = guard.get()] { g->RefreshPeriodically(); });
  }
  return guard;
}

DiskSpaceGuard::~DiskSpaceGuard() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status DiskSpaceGuard::Admit(uint64_t bytes) {
  if (reserve_ == 0) return Status::Ok();
  uint64_t available = available_.load();
  do {
    if (full_.load() || available < reserve_ || available - reserve_ < bytes) {
      SetFull(true);
      metrics_.disk_full_refusals.Increment();
      return Status(ErrorCode::kResourceExhausted,
                    "the disk holding the store is nearly full: " + std::to_string(available) +
                        " bytes free, and " + std::to_string(reserve_) +
                        " are kept in reserve (--min-free-disk-bytes) so the storage engine "
                        "never runs out of space. Publishes resume once space is freed "
                        "(retention, deleted topics, a larger volume)",
                    true);
    }
  } while (!available_.compare_exchange_weak(available, available - bytes));
  return Status::Ok();
}

void DiskSpaceGuard::Refresh() {
  const Result<DiskUsage> usage = probe_(dir_);
  if (!usage.ok()) {
    // Keep the last reading: refusing every write on a transient stat error
    // would be worse than acting on a value a moment old.
    log::Warn("reading the data directory's free space failed",
              {{"error", usage.status().ToString()}});
    return;
  }
  available_.store(usage->available);
  metrics_.disk_available_bytes.Set(static_cast<int64_t>(usage->available));
  // Some room above the reserve before appends resume, so a disk hovering at
  // the threshold does not flip the state (and its log lines) every reading.
  const uint64_t resume_at = reserve_ + std::min<uint64_t>(reserve_ / 10, 64ull << 20);
  if (usage->available >= resume_at) SetFull(false);
}

void DiskSpaceGuard::RefreshPeriodically() {
  UniqueLock lock(mu_);
  while (!stop_cv_.wait_for(lock.native(), period_, [&]() REQUIRES(mu_) { return stopping_; })) {
    lock.unlock();
    Refresh();
    lock.lock();
  }
}

void DiskSpaceGuard::SetFull(bool full) {
  if (full_.exchange(full) == full) return;
  metrics_.disk_full.Set(full ? 1 : 0);
  if (full) {
    log::Warn(
        "disk nearly full: publishes refused until space is freed",
        {{"data_dir", dir_}, {"available_bytes", available_.load()}, {"reserve_bytes", reserve_}});
  } else {
    log::Info("disk space recovered: publishes accepted again",
              {{"data_dir", dir_}, {"available_bytes", available_.load()}});
  }
}

}  // namespace sprawl::storage
