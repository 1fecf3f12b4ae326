#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "core/util/thread_annotations.h"

namespace sprawl::broker {

// One worker thread for the broker's administrative disk work (topic records,
// partition creation and drops, group records), so that the event loop never
// waits on a write and its fsync. Work runs in submission order: operations on
// one topic apply in the order the loop issued them.
class AdminExecutor {
 public:
  AdminExecutor();
  // Runs everything already submitted, then joins the thread.
  ~AdminExecutor();
  AdminExecutor(const AdminExecutor&) = delete;
  AdminExecutor& operator=(const AdminExecutor&) = delete;

  // Queues `work` to run on the worker thread after all earlier work.
  void Submit(std::function<void()> work);

 private:
  void Run();

  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace sprawl::broker
