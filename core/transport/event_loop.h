#pragma once

#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "core/util/clock.h"
#include "core/util/thread_annotations.h"

namespace sprawl::transport {

// The node's one logic thread (DESIGN rule 2): it waits on ZeroMQ sockets,
// runs functions posted from other threads, and calls a timer callback when
// its deadline comes. Everything it calls runs on the thread inside Run().
class EventLoop {
 public:
  // `clock` must outlive the loop; deadlines are on its monotonic clock.
  explicit EventLoop(const Clock& clock);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs `fn` on the loop thread soon. Thread-safe; never blocks on the loop.
  void Post(std::function<void()> fn);

  // Calls `on_readable` on the loop thread whenever `socket` has input. The
  // socket must outlive the loop's Run. Call before Run or on the loop thread.
  void Watch(zmq::socket_t& socket, std::function<void()> on_readable);
  // Stops watching `socket` (before it is closed). Loop thread only; safe
  // inside another socket's handler.
  void Unwatch(zmq::socket_t& socket);

  // `next_deadline` returns when `on_due` must next run (monotonic nanos,
  // INT64_MAX for never); it is asked after every round of work.
  void SetTimer(std::function<int64_t()> next_deadline, std::function<void()> on_due);

  // Runs until Stop(); what is posted before Stop() runs before Run returns.
  void Run();
  // Makes Run return after its current round. Thread-safe.
  void Stop();

 private:
  void Wake();
  void RunPosted();

  const Clock& clock_;
  int wake_fd_;  // eventfd: Post and Stop write, the loop reads
  Mutex mu_;
  std::deque<std::function<void()>> posted_ GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
  struct Watched {
    zmq::socket_t* socket;
    std::function<void()> on_readable;
  };
  // A deque: a handler that watches a socket appends here while its own
  // entry (the running std::function) must stay where it is.
  std::deque<Watched> watched_;
  std::function<int64_t()> next_deadline_;
  std::function<void()> on_due_;
};

}  // namespace sprawl::transport
