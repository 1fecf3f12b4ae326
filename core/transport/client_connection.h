#pragma once

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/transport/frame.h"
#include "core/util/thread_annotations.h"

namespace sprawl::transport {

// A reply or a server push as the client receives it. `error` is set when the
// server answered with an error (then `body` is empty).
struct Reply {
  FrameHeader header;
  std::string body;
  std::vector<std::string> batches;
  std::optional<protocol::pb::Error> error;

  // OK, or the server's error as a Status.
  Status status() const { return error ? StatusFromError(*error) : Status::Ok(); }
};

struct ClientOptions {
  Limits limits;
  std::chrono::milliseconds request_timeout{30'000};
  // Requests sent and not answered, plus those waiting to be sent; beyond it
  // calls fail at once with RESOURCE_EXHAUSTED rather than queue without bound.
  size_t max_outstanding = 100'000;
};

// One connection to a node's client port: a DEALER socket owned by an I/O
// thread. Requests from any thread are matched to their replies by
// correlation id; callbacks and the push handler run on the I/O thread and
// must not block it. ZeroMQ reconnects by itself after a server restart;
// requests in flight when the connection drops (the process died, or
// heartbeats or a reconnect's handshake went unanswered for kHeartbeatTimeout) fail at once with a
// retriable IO_ERROR: their outcome is unknown. Once a connection has been
// up, requests made while its node refuses to reconnect fail the same way at
// the next refused attempt (within the reconnect interval, at most 2 s)
// rather than wait for a node that may be gone for good (ZeroMQ keeps them
// queued: a node that comes back may still carry them out, as after a
// TIMEOUT); before the first connection, requests wait for the node to start.
class ClientConnection {
 public:
  using Callback = std::function<void(Result<Reply>)>;

  // ZMTP heartbeats on the connection, and how long one (or a reconnect's
  // handshake) may go unanswered. libzmq's I/O thread answers them, not the
  // node's event loop, so a busy node still answers; a stopped or cut-off
  // one does not.
  static constexpr std::chrono::milliseconds kHeartbeatInterval{1'000};
  static constexpr std::chrono::milliseconds kHeartbeatTimeout{3'000};

  // Connects (asynchronously: the first call waits for the server).
  // INVALID_ARGUMENT for a malformed endpoint.
  static Result<std::unique_ptr<ClientConnection>> Connect(const std::string& endpoint,
                                                           ClientOptions options = {});
  // Close()s.
  ~ClientConnection();

  // Sends a request; `done` gets the reply (or TIMEOUT, CLOSED,
  // RESOURCE_EXHAUSTED). A zero `timeout` means the default. Thread-safe.
  void CallAsync(uint16_t type, std::string body, std::vector<std::string> batches, Callback done,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // CallAsync and wait. Must not be called from a callback (the I/O thread).
  Result<Reply> Call(uint16_t type, std::string body, std::vector<std::string> batches = {},
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Sends a message with the NO_REPLY flag. Thread-safe.
  void Send(uint16_t type, std::string body, std::vector<std::string> batches = {});

  // Handles server pushes (DELIVER). Set before the pushes can come.
  void SetPushHandler(std::function<void(Reply)> handler);

  // Fails every outstanding call with CLOSED and stops the I/O thread.
  // Idempotent; later calls fail with CLOSED.
  void Close();

  const std::string& endpoint() const { return endpoint_; }

 private:
  struct Outbound {
    FrameHeader header;
    std::string body;
    std::vector<std::string> batches;
    Callback done;  // empty for NO_REPLY
    std::chrono::milliseconds timeout;
  };
  struct Pending {
    Callback done;
    int64_t deadline_nanos;
  };

  ClientConnection(zmq::context_t context, zmq::socket_t socket, zmq::socket_t monitor,
                   std::string endpoint, ClientOptions options);
  void Enqueue(Outbound out);
  void Run();
  bool SendOne(Outbound& out);
  void ReadReplies();
  void ExpireTimedOut();
  // The socket's monitor reported events: a dropped connection fails the
  // requests in flight on it.
  void ReadMonitorEvents();
  void FailAll(const Status& status);

  zmq::context_t context_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_;  // PAIR receiving the socket's disconnect events
  std::string endpoint_;
  ClientOptions options_;
  int wake_fd_;
  std::atomic<uint64_t> next_correlation_{1};
  std::atomic<bool> closed_{false};

  Mutex mu_;
  std::deque<Outbound> outbox_ GUARDED_BY(mu_);
  size_t outstanding_ GUARDED_BY(mu_) = 0;

  // I/O thread only.
  std::unordered_map<uint64_t, Pending> pending_;
  std::multimap<int64_t, uint64_t> deadlines_;  // deadline -> correlation id
  std::function<void(Reply)> push_handler_;
  bool was_connected_ = false;  // the monitor reported a connection once
  std::thread thread_;
};

}  // namespace sprawl::transport
