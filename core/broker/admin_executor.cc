#include "core/broker/admin_executor.h"

namespace sprawl::broker {

AdminExecutor::AdminExecutor() : thread_([this] { Run(); }) {}

AdminExecutor::~AdminExecutor() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void AdminExecutor::Submit(std::function<void()> work) {
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(work));
  }
  cv_.notify_all();
}

void AdminExecutor::Run() {
  for (;;) {
    std::function<void()> work;
    {
      UniqueLock lock(mu_);
      cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace sprawl::broker
