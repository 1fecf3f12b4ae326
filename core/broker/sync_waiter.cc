#include "core/broker/sync_waiter.h"

namespace sprawl::broker {

SyncWaiter::SyncWaiter(storage::Store& store) : store_(store), thread_([this] { Run(); }) {}

SyncWaiter::~SyncWaiter() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SyncWaiter::AfterSync(std::function<void(Status)> done) {
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(done));
  }
  cv_.notify_one();
}

void SyncWaiter::Run() {
  UniqueLock lock(mu_);
  while (true) {
    cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left
    std::vector<std::function<void(Status)>> batch;
    batch.swap(queue_);
    lock.unlock();
    // Every append these callbacks wait for was submitted before they were
    // queued, so one flush now covers all of them.
    const Status synced = store_.Flush();
    for (auto& done : batch) done(synced);
    lock.lock();
  }
}

}  // namespace sprawl::broker
