#include "core/storage/retention_task.h"

#include "core/util/logging.h"

namespace sprawl::storage {

RetentionTask::RetentionTask(Store& store, std::chrono::milliseconds period)
    : store_(store), period_(period) {
  thread_ = std::thread([this] { Run(); });
}

RetentionTask::~RetentionTask() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RetentionTask::Run() {
  UniqueLock lock(mu_);
  while (!cv_.wait_for(lock.native(), period_, [this]() REQUIRES(mu_) { return stopping_; })) {
    lock.unlock();
    auto outcome = store_.ApplyRetention();
    if (!outcome.ok()) {
      log::Warn("retention pass failed", {{"error", outcome.status().ToString()}});
    }
    store_.ReclaimMemory();
    lock.lock();
  }
}

}  // namespace sprawl::storage
