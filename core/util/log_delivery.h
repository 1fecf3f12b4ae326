#pragma once

// Hands log records to a callback on a thread of its own, so that a slow, blocking or
// throwing callback never holds up the core thread that wrote the line: writers copy the
// record into a bounded queue and return; when the queue is full the record is dropped and
// counted.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/util/logging.h"
#include "core/util/thread_annotations.h"

namespace sprawl::log {

// A Record that owns its text: what crosses from the writing thread to the delivery thread.
struct OwnedRecord {
  Level level = Level::kInfo;
  std::string component;
  std::string message;
  // In the order written, with "node" first when the record names one.
  std::vector<std::pair<std::string, std::string>> fields;
  int64_t unix_ms = 0;  // when it was written
};

class RecordQueue {
 public:
  using Deliver = std::function<void(const OwnedRecord&)>;

  // Starts the delivery thread. `deliver` runs there, one record at a time in the order they
  // were queued; what it throws is caught and discarded. At most `capacity` (> 0) records wait
  // (besides the one being delivered); each one refused for lack of room increments `dropped`,
  // which must outlive the queue.
  RecordQueue(size_t capacity, Deliver deliver, std::atomic<uint64_t>& dropped);
  // Delivers what is queued, then stops and joins the thread: waits for a `deliver` call in
  // progress. Must not run on the delivery thread.
  ~RecordQueue();
  RecordQueue(const RecordQueue&) = delete;
  RecordQueue& operator=(const RecordQueue&) = delete;

  // Copies `record` into the queue, or counts it as dropped when the queue is full. Never
  // waits for the delivery thread (only for the queue's lock, held for a push or a swap).
  void Push(const Record& record);

 private:
  void Run();

  const size_t capacity_;
  const Deliver deliver_;
  std::atomic<uint64_t>& dropped_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<OwnedRecord> queue_ GUARDED_BY(mu_);
  // Records queued and not yet handed to `deliver_`: in queue_ or in the delivery thread's
  // batch. Bounded by capacity_.
  size_t waiting_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace sprawl::log
