#include "core/transport/client_connection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include <unistd.h>

namespace sprawl::transport {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A bare ROUTER standing in for a node's client port: it takes requests and
// answers only when told to.
class FakeServer {
 public:
  explicit FakeServer(zmq::context_t& context, int port = 0)
      : socket_(context, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:" + (port == 0 ? std::string("*") : std::to_string(port)));
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }
  int port() const { return std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1)); }

  // The next request: its routing id and header (and its body in `body`).
  std::pair<std::string, FrameHeader> Receive(std::string* body = nullptr) {
    std::vector<zmq::message_t> parts;
    socket_.set(zmq::sockopt::rcvtimeo, 10'000);
    auto got = zmq::recv_multipart(socket_, std::back_inserter(parts));
    EXPECT_TRUE(got.has_value());
    EXPECT_GE(parts.size(), 2u);
    auto header = DecodeHeader(parts[1].to_string_view());
    EXPECT_TRUE(header.ok());
    if (body != nullptr && parts.size() > 2) *body = parts[2].to_string();
    return {parts[0].to_string(), *header};
  }

  void Answer(const std::string& routing_id, FrameHeader header, std::string body) {
    header.flags = kFlagResponse;
    socket_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(EncodeHeader(header)), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
  }

  void Close() { socket_.close(); }

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
};

TEST(ClientConnectionTest, ARequestOnAConnectionThatDropsFailsAtOnceNotAtItsTimeout) {
  zmq::context_t context(1);
  FakeServer server(context);
  auto conn = ClientConnection::Connect(server.endpoint());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();

  std::promise<Result<Reply>> outcome;
  (*conn)->CallAsync(
      1, "ping", {}, [&outcome](Result<Reply> r) { outcome.set_value(std::move(r)); }, 60s);
  server.Receive();  // on the wire; the server dies without answering
  const auto dropped_at = Clock::now();
  server.Close();

  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready) << "still waiting for its timeout";
  Result<Reply> r = future.get();
  EXPECT_LT(Clock::now() - dropped_at, 20s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kIoError) << r.status().ToString();
  EXPECT_TRUE(r.status().retriable());
}

TEST(ClientConnectionTest, TheConnectionServesAgainOnceTheServerIsBack) {
  zmq::context_t context(1);
  auto first = std::make_unique<FakeServer>(context);
  const int port = first->port();
  auto conn = ClientConnection::Connect(first->endpoint());
  ASSERT_TRUE(conn.ok());

  std::promise<Result<Reply>> lost;
  (*conn)->CallAsync(
      1, "a", {}, [&lost](Result<Reply> r) { lost.set_value(std::move(r)); }, 60s);
  first->Receive();
  first.reset();
  auto lost_future = lost.get_future();
  ASSERT_EQ(lost_future.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(lost_future.get().status().code(), ErrorCode::kIoError);

  // While nothing listens, a call fails at the next refused reconnect
  // rather than wait for its timeout.
  const auto asked_at = Clock::now();
  auto refused = (*conn)->Call(1, "nobody", {}, 60s);
  EXPECT_LT(Clock::now() - asked_at, 10s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kIoError) << refused.status().ToString();

  // A server on the same port: the next call reaches it and gets its answer.
  FakeServer second(context, port);
  std::promise<Result<Reply>> answered;
  (*conn)->CallAsync(
      1, "b", {}, [&answered](Result<Reply> r) { answered.set_value(std::move(r)); }, 20s);
  // The call refused above was queued and reaches the node first: a request
  // failed with IO_ERROR may still be carried out.
  std::string body;
  auto [routing_id, header] = second.Receive(&body);
  EXPECT_EQ(body, "nobody");
  std::tie(routing_id, header) = second.Receive(&body);
  EXPECT_EQ(body, "b");
  second.Answer(routing_id, header, "pong");
  Result<Reply> r = answered.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "pong");
}

TEST(ClientConnectionTest, BeforeTheFirstConnectionACallWaitsForTheServerToStart) {
  zmq::context_t context(1);
  // A port below the kernel's ephemeral range (32768 and up), so that no
  // other test's socket takes it and the client's own retries cannot
  // connect to themselves (a TCP self-connect when the source port the
  // kernel picks equals the destination).
  const int port = 20000 + static_cast<int>(getpid() % 10000);
  auto conn = ClientConnection::Connect("tcp://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(conn.ok());
  std::promise<Result<Reply>> answered;
  (*conn)->CallAsync(
      1, "early", {}, [&answered](Result<Reply> r) { answered.set_value(std::move(r)); }, 30s);
  auto future = answered.get_future();
  // Refused attempts go by; the call still waits.
  EXPECT_EQ(future.wait_for(1500ms), std::future_status::timeout);
  FakeServer server(context, port);
  auto [routing_id, header] = server.Receive();
  server.Answer(routing_id, header, "late");
  Result<Reply> r = future.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "late");
}

TEST(ClientConnectionTest, AnUnansweredRequestOnALiveConnectionStillTimesOut) {
  zmq::context_t context(1);
  FakeServer server(context);
  auto conn = ClientConnection::Connect(server.endpoint());
  ASSERT_TRUE(conn.ok());
  auto r = (*conn)->Call(1, "ping", {}, 200ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout);
}

}  // namespace
}  // namespace sprawl::transport
