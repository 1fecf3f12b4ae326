#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/storage/store.h"
#include "core/util/thread_annotations.h"

namespace sprawl::broker {

// Runs callbacks once everything appended before they were queued is synced
// to disk (acks = all under a lazy fsync policy). One thread calls
// Store::Flush for every callback queued meanwhile, so concurrent waiters
// share a sync. Thread-safe.
class SyncWaiter {
 public:
  // `store` must outlive the waiter.
  explicit SyncWaiter(storage::Store& store);
  // Runs the callbacks still queued, after one last sync, and stops.
  ~SyncWaiter();

  // Queues `done`; it runs on the waiter's thread with the sync's outcome.
  void AfterSync(std::function<void(Status)> done);

 private:
  void Run();

  storage::Store& store_;
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(Status)>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sprawl::broker
