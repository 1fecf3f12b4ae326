#include "core/broker/sync_waiter.h"

namespace sprawl::broker {

SyncWaiter::SyncWaiter(storage::Store& store) : store_(store), thread_([this] { Run(); }) {}

SyncWaiter::~SyncWaiter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SyncWaiter::AfterSync(std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(done));
  }
  cv_.notify_one();
}

void SyncWaiter::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
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
