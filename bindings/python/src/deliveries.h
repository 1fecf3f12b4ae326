// The outcomes of Client.produce(): a core thread queues them without the
// GIL, and Client.poll() / flush() run their on_delivery callbacks on the
// caller's thread, many per hold of the GIL (the confluent-kafka model:
// nothing runs Python behind the application's back).
#ifndef SPRAWL_PYTHON_DELIVERIES_H
#define SPRAWL_PYTHON_DELIVERIES_H

#include <Python.h>
#include <sprawl/sprawl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "sprawl/sprawl.hpp"

namespace sprawl_py {

class Deliveries {
 public:
  // What one produce() hands the C library as user_data. The references are
  // strong; they are dropped under the GIL by the thread that runs or
  // discards the outcome.
  struct Pending {
    Deliveries* queue;
    PyObject* fn;
    PyObject* topic;
  };

  // One outcome: error is null on success.
  struct Done {
    Pending* pending;
    std::unique_ptr<sprawl::Error> error;
    uint32_t partition;
    uint64_t offset;
  };

  Deliveries() = default;
  Deliveries(const Deliveries&) = delete;
  Deliveries& operator=(const Deliveries&) = delete;

  // A sprawl_delivery_fn with a Pending as user_data: queues the outcome.
  // Runs on a core thread (or the thread of a call that fails the message
  // at once) without the GIL; wakes a poller only when one waits, so a
  // stream of acks costs a lock each and no futex wake.
  static void OnDelivery(void* user_data, const sprawl_error_t* error, uint32_t partition,
                         uint64_t offset) noexcept {
    auto* pending = static_cast<Pending*>(user_data);
    Done done{pending, nullptr, partition, offset};
    try {
      if (error != nullptr) {
        done.error = std::make_unique<sprawl::Error>(
            sprawl_error_code(error), sprawl_error_code_name(error), sprawl_error_message(error),
            sprawl_error_retriable(error) != 0);
      }
      pending->queue->Push(std::move(done));
    } catch (...) {
      // Out of memory: the outcome is lost, and with it the callback's
      // references (a leak is better than touching Python here).
    }
  }

  // Takes what is due, waiting up to timeout_ms (0: not at all) for the
  // first. Call with the GIL released.
  std::deque<Done> Take(int timeout_ms) {
    std::unique_lock lock(mu_);
    if (queue_.empty() && timeout_ms > 0 && !closed_) {
      ++waiters_;
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                   [&] { return !queue_.empty() || closed_; });
      --waiters_;
    }
    std::deque<Done> out;
    out.swap(queue_);
    return out;
  }

  // Puts back, in front, outcomes taken but not run (a callback raised).
  void PutBack(std::deque<Done>* rest) {
    std::lock_guard lock(mu_);
    while (!rest->empty()) {
      queue_.push_front(std::move(rest->back()));
      rest->pop_back();
    }
  }

  // Wakes a waiting poller for good: the client is closed. Any thread.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  // Drops outcomes without running their callbacks. GIL held.
  static void Release(std::deque<Done>* done) {
    for (Done& d : *done) Free(d.pending);
    done->clear();
  }

  // Drops a Pending and its references. GIL held.
  static void Free(Pending* pending) {
    Py_XDECREF(pending->fn);
    Py_XDECREF(pending->topic);
    delete pending;
  }

  // Drops what is queued without running it (GIL held), e.g. when the
  // client is collected.
  void Discard() {
    std::deque<Done> dropped;
    {
      std::lock_guard lock(mu_);
      dropped.swap(queue_);
    }
    Release(&dropped);
  }

 private:
  void Push(Done done) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(done));
      wake = waiters_ > 0;
    }
    if (wake) cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Done> queue_;  // guarded by mu_
  int waiters_ = 0;         // guarded by mu_
  bool closed_ = false;     // guarded by mu_
};

}  // namespace sprawl_py

#endif  // SPRAWL_PYTHON_DELIVERIES_H
