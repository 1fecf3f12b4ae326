#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/storage/store.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// Runs Store::ApplyRetention every `period` on its own thread until
// destroyed. Retention deletes and compacts, which may take a while; keeping
// it off the node's event loop keeps appends and reads fast. Each pass also
// runs Store::ReclaimMemory, for the tail cache that went over its budget
// while its batches waited for the disk and that no append has trimmed since.
class RetentionTask {
 public:
  RetentionTask(Store& store, std::chrono::milliseconds period);
  // Stops the thread, waiting for a pass in progress to finish.
  ~RetentionTask();

  RetentionTask(const RetentionTask&) = delete;
  RetentionTask& operator=(const RetentionTask&) = delete;

 private:
  void Run();

  Store& store_;
  const std::chrono::milliseconds period_;
  Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sprawl::storage
