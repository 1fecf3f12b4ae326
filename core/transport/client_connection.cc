#include "core/transport/client_connection.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <future>

#include "core/util/clock.h"

namespace sprawl::transport {
namespace {

int64_t NowNanos() { return SystemClock::Instance().MonotonicNanos(); }

}  // namespace

Result<std::unique_ptr<ClientConnection>> ClientConnection::Connect(const std::string& endpoint,
                                                                    ClientOptions options) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.limits.max_message_bytes));
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 2000);
  socket.set(zmq::sockopt::sndhwm, 100'000);
  socket.set(zmq::sockopt::rcvhwm, 100'000);
  // ZMTP heartbeats: a node that stops answering (a partition, a frozen
  // host) drops the connection like one whose process died.
  socket.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(kHeartbeatInterval.count()));
  socket.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(kHeartbeatTimeout.count()));
  // A reconnect whose handshake does not finish (the process is stopped but
  // its kernel still accepts connections) is dropped as soon, not after
  // ZeroMQ's default 30 s.
  socket.set(zmq::sockopt::handshake_ivl, static_cast<int>(kHeartbeatTimeout.count()));
  // The socket reports a dropped connection on an inproc pair: the requests
  // sent on it will get no reply, and the caller learns so at once instead of
  // after its timeout (a killed partition leader is then routed around in
  // about an election's time).
  static std::atomic<uint64_t> monitors{0};
  const std::string monitor_endpoint =
      "inproc://sprawl-client-monitor-" + std::to_string(++monitors);
  constexpr int kEvents = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED;
  if (zmq_socket_monitor(socket.handle(), monitor_endpoint.c_str(), kEvents) != 0) {
    return IoError(std::string("cannot monitor the connection: ") + zmq_strerror(zmq_errno()));
  }
  zmq::socket_t monitor(context, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  try {
    monitor.connect(monitor_endpoint);
    socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return InvalidArgument("cannot connect to '" + endpoint + "': " + e.what());
  }
  std::unique_ptr<ClientConnection> conn(new ClientConnection(
      std::move(context), std::move(socket), std::move(monitor), endpoint, options));
  if (conn->wake_fd_ < 0) return IoError("eventfd failed: out of file descriptors");
  conn->thread_ = std::thread([raw = conn.get()] { raw->Run(); });
  return conn;
}

ClientConnection::ClientConnection(zmq::context_t context, zmq::socket_t socket,
                                   zmq::socket_t monitor, std::string endpoint,
                                   ClientOptions options)
    : context_(std::move(context)),
      socket_(std::move(socket)),
      monitor_(std::move(monitor)),
      endpoint_(std::move(endpoint)),
      options_(options),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ClientConnection::~ClientConnection() {
  Close();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ClientConnection::SetPushHandler(std::function<void(Reply)> handler) {
  // Posted through the outbox lock so the I/O thread sees it before any
  // message sent after this call.
  MutexLock lock(mu_);
  push_handler_ = std::move(handler);
}

void ClientConnection::Enqueue(Outbound out) {
  {
    UniqueLock lock(mu_);
    if (closed_) {
      lock.unlock();
      if (out.done)
        out.done(Status(ErrorCode::kClosed, "the connection to " + endpoint_ + " is closed"));
      return;
    }
    if (outstanding_ >= options_.max_outstanding) {
      lock.unlock();
      if (out.done) {
        out.done(ResourceExhausted(std::to_string(options_.max_outstanding) +
                                   " requests are already outstanding on this connection"));
      }
      return;
    }
    if (out.done) ++outstanding_;
    outbox_.push_back(std::move(out));
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void ClientConnection::CallAsync(uint16_t type, std::string body, std::vector<std::string> batches,
                                 Callback done, std::chrono::milliseconds timeout) {
  Outbound out;
  out.header.type = type;
  out.header.correlation_id = next_correlation_++;
  out.body = std::move(body);
  out.batches = std::move(batches);
  out.done = std::move(done);
  out.timeout = timeout.count() > 0 ? timeout : options_.request_timeout;
  Enqueue(std::move(out));
}

Result<Reply> ClientConnection::Call(uint16_t type, std::string body,
                                     std::vector<std::string> batches,
                                     std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<Reply>>>();
  auto future = promise->get_future();
  CallAsync(
      type, std::move(body), std::move(batches),
      [promise](Result<Reply> r) { promise->set_value(std::move(r)); }, timeout);
  return future.get();
}

void ClientConnection::Send(uint16_t type, std::string body, std::vector<std::string> batches) {
  Outbound out;
  out.header.type = type;
  out.header.flags = kFlagNoReply;
  out.header.correlation_id = next_correlation_++;
  out.body = std::move(body);
  out.batches = std::move(batches);
  Enqueue(std::move(out));
}

void ClientConnection::Close() {
  if (closed_.exchange(true)) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

bool ClientConnection::SendOne(Outbound& out) {
  const std::string header = EncodeHeader(out.header);
  const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  // DEALER queues the whole message or none of it: only the first part can
  // fail with EAGAIN.
  if (!socket_.send(zmq::buffer(header), more)) return false;
  socket_.send(zmq::buffer(out.body),
               out.batches.empty() ? zmq::send_flags::none : zmq::send_flags::sndmore);
  for (size_t i = 0; i < out.batches.size(); ++i) {
    socket_.send(zmq::buffer(out.batches[i]),
                 i + 1 < out.batches.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  return true;
}

void ClientConnection::ReadReplies() {
  for (int i = 0; i < 1024; ++i) {
    std::vector<zmq::message_t> parts;
    auto got = zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait);
    if (!got) return;
    std::vector<std::string_view> frames;
    frames.reserve(parts.size());
    for (auto& p : parts) frames.push_back(p.to_string_view());
    FrameHeader partial;
    auto envelope = DecodeEnvelope(frames, options_.limits, &partial);
    if (!envelope.ok()) {
      // A reply we cannot read fails its call rather than leaving it to time out.
      auto it = pending_.find(partial.correlation_id);
      if (it != pending_.end()) {
        Callback done = std::move(it->second.done);
        pending_.erase(it);
        {
          MutexLock lock(mu_);
          --outstanding_;
        }
        done(DataCorruption("unreadable reply: " + envelope.status().message()));
      }
      continue;
    }
    Reply reply;
    reply.header = envelope->header;
    if (reply.header.flags & kFlagError) {
      protocol::pb::Error error;
      if (!error.ParseFromString(envelope->body)) {
        error.set_code(static_cast<uint32_t>(ErrorCode::kDataCorruption));
        error.set_message("the server's error reply does not decode");
      }
      reply.error = std::move(error);
    } else {
      reply.body = std::move(envelope->body);
    }
    reply.batches = std::move(envelope->batches);
    if ((reply.header.flags & kFlagResponse) == 0) {
      std::function<void(Reply)> handler;
      {
        MutexLock lock(mu_);
        handler = push_handler_;
      }
      if (handler) handler(std::move(reply));
      continue;
    }
    auto it = pending_.find(reply.header.correlation_id);
    if (it == pending_.end()) continue;  // timed out already
    Callback done = std::move(it->second.done);
    pending_.erase(it);
    {
      MutexLock lock(mu_);
      --outstanding_;
    }
    done(std::move(reply));
  }
}

void ClientConnection::ExpireTimedOut() {
  const int64_t now = NowNanos();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    Callback done = std::move(it->second.done);
    pending_.erase(it);
    {
      MutexLock lock(mu_);
      --outstanding_;
    }
    done(Status(ErrorCode::kTimeout, "no reply from " + endpoint_ + " in time"));
  }
}

void ClientConnection::ReadMonitorEvents() {
  bool lost = false;
  bool refused = false;
  for (;;) {
    // An event is two frames: 6 bytes (u16 event, u32 value), then the
    // endpoint.
    std::vector<zmq::message_t> parts;
    auto got = zmq::recv_multipart(monitor_, std::back_inserter(parts), zmq::recv_flags::dontwait);
    if (!got) break;
    if (parts.size() != 2 || parts[0].size() < sizeof(uint16_t)) continue;
    uint16_t event = 0;
    std::memcpy(&event, parts[0].data(), sizeof event);
    if (event == ZMQ_EVENT_CONNECTED) {
      was_connected_ = true;
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
      lost = true;
    } else if (event == ZMQ_EVENT_CONNECT_RETRIED && was_connected_) {
      // The node this connection reached is gone: what was sent since is
      // queued for a node that may never come back. (Before the first
      // connection, calls wait for the node to start, up to their timeout.)
      refused = true;
    }
  }
  if ((!lost && !refused) || pending_.empty()) return;
  // Requests on the wire get no reply over a new connection: fail them now.
  // Their outcome is unknown, as after a timeout (IO_ERROR is retriable).
  auto pending = std::move(pending_);
  pending_.clear();
  deadlines_.clear();
  {
    MutexLock lock(mu_);
    outstanding_ -= pending.size();
  }
  const Status status =
      lost ? IoError("the connection to " + endpoint_ +
                     " was lost; the request may or may not have been carried out")
           : IoError("cannot reconnect to " + endpoint_ +
                     " (refused); the request stays queued and may still be carried out if the "
                     "node comes back");
  for (auto& [id, p] : pending) p.done(status);
}

void ClientConnection::FailAll(const Status& status) {
  std::deque<Outbound> unsent;
  {
    MutexLock lock(mu_);
    unsent.swap(outbox_);
    outstanding_ = 0;
  }
  for (auto& out : unsent) {
    if (out.done) out.done(status);
  }
  auto pending = std::move(pending_);
  pending_.clear();
  deadlines_.clear();
  for (auto& [id, p] : pending) p.done(status);
}

void ClientConnection::Run() {
  std::deque<Outbound> backlog;  // taken from the outbox, not yet accepted by ZeroMQ
  while (!closed_) {
    {
      MutexLock lock(mu_);
      while (!outbox_.empty()) {
        backlog.push_back(std::move(outbox_.front()));
        outbox_.pop_front();
      }
    }
    while (!backlog.empty()) {
      Outbound& out = backlog.front();
      try {
        if (!SendOne(out)) break;  // the send queue is full: wait for POLLOUT
      } catch (const zmq::error_t& e) {
        if (out.done) {
          {
            MutexLock lock(mu_);
            --outstanding_;
          }
          out.done(IoError(std::string("send failed: ") + e.what()));
        }
        backlog.pop_front();
        continue;
      }
      if (out.done) {
        const int64_t deadline =
            NowNanos() + std::chrono::duration_cast<std::chrono::nanoseconds>(out.timeout).count();
        pending_.emplace(out.header.correlation_id, Pending{std::move(out.done), deadline});
        deadlines_.emplace(deadline, out.header.correlation_id);
      }
      backlog.pop_front();
    }
    zmq::pollitem_t items[] = {
        {socket_.handle(), 0, static_cast<short>(ZMQ_POLLIN | (backlog.empty() ? 0 : ZMQ_POLLOUT)),
         0},
        {nullptr, wake_fd_, ZMQ_POLLIN, 0},
        {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    long timeout_ms = -1;
    if (!deadlines_.empty()) {
      const int64_t wait = deadlines_.begin()->first - NowNanos();
      timeout_ms = wait <= 0 ? 0 : static_cast<long>((wait + 999'999) / 1'000'000);
    }
    try {
      zmq::poll(items, 3, std::chrono::milliseconds(timeout_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      break;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof(count));
    }
    if (items[0].revents & ZMQ_POLLIN) ReadReplies();
    if (items[2].revents & ZMQ_POLLIN) ReadMonitorEvents();
    ExpireTimedOut();
  }
  for (auto& out : backlog) {
    if (out.done) out.done(Status(ErrorCode::kClosed, "the connection was closed"));
  }
  FailAll(Status(ErrorCode::kClosed, "the connection was closed"));
  zmq_socket_monitor(socket_.handle(), nullptr, 0);
  monitor_.close();
  socket_.close();
}

}  // namespace sprawl::transport
