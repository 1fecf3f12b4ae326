#include "core/util/log_delivery.h"

namespace sprawl::log {

RecordQueue::RecordQueue(size_t capacity, Deliver deliver, std::atomic<uint64_t>& dropped)
    : capacity_(capacity == 0 ? 1 : capacity), deliver_(std::move(deliver)), dropped_(dropped) {
  thread_ = std::thread([this] { Run(); });
}

RecordQueue::~RecordQueue() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void RecordQueue::Push(const Record& record) {
  // Cheap refusal first: a full queue costs the writer no copies.
  {
    MutexLock lock(mu_);
    if (waiting_ >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  OwnedRecord owned;
  owned.level = record.level;
  owned.component = record.component;
  owned.message = record.message;
  owned.fields.reserve(record.fields.size() + 1);
  if (!record.node_id.empty()) owned.fields.emplace_back("node", record.node_id);
  for (const Field& field : record.fields) owned.fields.emplace_back(field.key, field.value);
  owned.unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(record.time.time_since_epoch()).count();
  bool was_empty = false;
  {
    MutexLock lock(mu_);
    if (waiting_ >= capacity_) {  // filled up while this record was copied
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queue_.empty();
    queue_.push_back(std::move(owned));
    ++waiting_;
  }
  // The delivery thread only sleeps on an empty queue.
  if (was_empty) cv_.notify_one();
}

void RecordQueue::Run() {
  std::deque<OwnedRecord> batch;
  for (;;) {
    {
      UniqueLock lock(mu_);
      cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything was delivered
      batch.swap(queue_);
    }
    // Outside the lock: writers keep queueing (up to capacity) while the callback runs.
    for (const OwnedRecord& record : batch) {
      {
        MutexLock lock(mu_);
        --waiting_;  // the record leaves the queue's bound as its delivery starts
      }
      try {
        deliver_(record);
      } catch (...) {
        // A host's callback must not take the delivery thread down with it.
      }
    }
    batch.clear();
  }
}

}  // namespace sprawl::log
