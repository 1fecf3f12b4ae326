#include "core/transport/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>

namespace sprawl::transport {

EventLoop::EventLoop(const Clock& clock)
    : clock_(clock), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0) {
    // Only when the process is out of file descriptors; nothing can run then.
    throw std::runtime_error("eventfd failed");
  }
}

EventLoop::~EventLoop() { close(wake_fd_); }

void EventLoop::Wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop is woken anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Post(std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    posted_.push_back(std::move(fn));
  }
  Wake();
}

void EventLoop::Watch(zmq::socket_t& socket, std::function<void()> on_readable) {
  watched_.push_back({&socket, std::move(on_readable)});
}

void EventLoop::Unwatch(zmq::socket_t& socket) {
  // Only marked here: a round that is dispatching keeps its indexes; the
  // next round drops the entry before it polls.
  for (Watched& w : watched_) {
    if (w.socket == &socket) w.socket = nullptr;
  }
}

void EventLoop::SetTimer(std::function<int64_t()> next_deadline, std::function<void()> on_due) {
  next_deadline_ = std::move(next_deadline);
  on_due_ = std::move(on_due);
}

void EventLoop::Stop() {
  stopping_ = true;
  Wake();
}

void EventLoop::RunPosted() {
  std::deque<std::function<void()>> batch;
  {
    MutexLock lock(mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void EventLoop::Run() {
  std::vector<zmq::pollitem_t> items;
  while (!stopping_) {
    items.clear();
    std::erase_if(watched_, [](const Watched& w) { return w.socket == nullptr; });
    for (const Watched& w : watched_) items.push_back({w.socket->handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});

    long timeout_ms = -1;
    if (next_deadline_) {
      const int64_t deadline = next_deadline_();
      if (deadline != std::numeric_limits<int64_t>::max()) {
        const int64_t wait = deadline - clock_.MonotonicNanos();
        // Round up so that the deadline has passed when we wake.
        timeout_ms = wait <= 0 ? 0 : static_cast<long>((wait + 999'999) / 1'000'000);
      }
    }
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) return;
      throw;
    }
    if (items.back().revents & ZMQ_POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof(count));
    }
    RunPosted();
    // Only the sockets this round polled: a handler may watch new ones
    // (a peer connection opened by a send), which the next round polls.
    const size_t polled = items.size() - 1;
    for (size_t i = 0; i < polled; ++i) {
      // Handlers read a bounded number of messages for fairness; poll is
      // level-triggered for ZeroMQ sockets and reports the rest next round.
      if ((items[i].revents & ZMQ_POLLIN) && watched_[i].socket != nullptr) {
        watched_[i].on_readable();
      }
    }
    if (next_deadline_ && next_deadline_() <= clock_.MonotonicNanos()) on_due_();
  }
  RunPosted();
}

}  // namespace sprawl::transport
