#include "core/transport/peer_transport.h"

#include <gtest/gtest.h>
#include <zmq_addon.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "core/protocol/message_type.h"
#include "core/protocol/messages.h"

namespace sprawl::transport {
namespace {

using namespace std::chrono_literals;
constexpr uint16_t kGossip = static_cast<uint16_t>(protocol::MessageType::kGossip);

// One node's peer port on its own loop thread, recording what it receives.
class PeerNode {
 public:
  explicit PeerNode(zmq::context_t& context, PeerTransport::Options options = {})
      : loop_(SystemClock::Instance()) {
    auto bound = PeerTransport::Bind(context, loop_, "tcp://127.0.0.1:0", Limits{}, registry_,
                                     options, [this](uint16_t type, std::string body) {
                                       std::lock_guard lock(mu_);
                                       received_.emplace_back(type, std::move(body));
                                       cv_.notify_all();
                                     });
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    peers_ = std::move(*bound);
    thread_ = std::thread([this] { loop_.Run(); });
  }
  ~PeerNode() {
    loop_.Stop();
    thread_.join();
  }

  // Runs `fn` on the loop thread and returns its result.
  template <typename Fn>
  auto OnLoop(Fn fn) {
    std::promise<decltype(fn())> done;
    auto result = done.get_future();
    loop_.Post([&] { done.set_value(fn()); });
    return result.get();
  }

  // Waits until `count` messages have arrived; false after 10 s.
  bool WaitFor(size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return received_.size() >= count; });
  }
  std::vector<std::pair<uint16_t, std::string>> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  PeerTransport& peers() { return *peers_; }
  metrics::Registry& registry() { return registry_; }

 private:
  metrics::Registry registry_;
  EventLoop loop_;
  std::unique_ptr<PeerTransport> peers_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<uint16_t, std::string>> received_;
};

// Sends until one is accepted: the first sends drop while the connection
// is still being set up (ZMQ_IMMEDIATE).
bool SendWhenConnected(PeerNode& from, const std::string& to, std::string body) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (from.OnLoop([&] { return from.peers().Send(to, kGossip, body); })) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(PeerTransportTest, MessagesReachThePeerInOrder) {
  zmq::context_t context;
  PeerNode a(context);
  PeerNode b(context);
  const std::string to_b = b.peers().endpoint();
  ASSERT_TRUE(SendWhenConnected(a, to_b, "first"));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(a.OnLoop([&] { return a.peers().Send(to_b, kGossip, "m" + std::to_string(i)); }));
  }
  ASSERT_TRUE(b.WaitFor(101));
  auto got = b.received();
  EXPECT_EQ(got[0], std::make_pair(kGossip, std::string("first")));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i + 1].second, "m" + std::to_string(i));
  EXPECT_EQ(a.OnLoop([&] { return a.peers().connections(); }), 1u);
}

TEST(PeerTransportTest, ADroppedConnectionIsToldWithThePeersAddress) {
  zmq::context_t context;
  PeerNode a(context);
  auto b = std::make_unique<PeerNode>(context);
  auto c = std::make_unique<PeerNode>(context);
  const std::string to_b = b->peers().endpoint();
  const std::string to_c = c->peers().endpoint();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lost;
  a.OnLoop([&] {
    a.peers().SetConnectionLost([&](const std::string& address) {
      std::lock_guard lock(mu);
      lost.push_back(address);
      cv.notify_all();
    });
    return 0;
  });
  ASSERT_TRUE(SendWhenConnected(a, to_b, "hello"));
  ASSERT_TRUE(SendWhenConnected(a, to_c, "hello"));
  // Closed here on purpose: no event, and its monitor is no longer watched.
  a.OnLoop([&] {
    a.peers().Disconnect(to_c);
    return 0;
  });
  c.reset();
  b.reset();  // its port closes, as when its process dies
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !lost.empty(); }));
  EXPECT_EQ(lost, std::vector<std::string>{to_b});
}

TEST(PeerTransportTest, SendsToADeadOrBadAddressDropAtOnce) {
  zmq::context_t context;
  PeerNode a(context);
  // A port nobody listens on: nothing is queued for it.
  zmq::socket_t probe(context, zmq::socket_type::router);
  probe.bind("tcp://127.0.0.1:*");
  const std::string dead = probe.get(zmq::sockopt::last_endpoint);
  probe.close();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_FALSE(a.OnLoop([&] { return a.peers().Send(dead, kGossip, "lost"); }));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "sends never block";
  for (const char* bad : {"", "tcp://", "tcp://host", "tcp://host:0", "tcp://host:99999",
                          "udp://127.0.0.1:7000", "tcp://:7000"}) {
    EXPECT_FALSE(a.OnLoop([&] { return a.peers().Send(bad, kGossip, "x"); })) << bad;
  }
  EXPECT_EQ(a.OnLoop([&] { return a.peers().connections(); }), 1u) << "only the dead address";
  EXPECT_EQ(a.registry().GetCounter("sprawl_peer_messages_dropped_total", "").Value(), 10'007u);
  a.OnLoop([&] {
    a.peers().Disconnect(dead);
    return 0;
  });
  EXPECT_EQ(a.OnLoop([&] { return a.peers().connections(); }), 0u);
}

TEST(PeerTransportTest, ACutNodeNeitherSendsNorReceivesUntilHealed) {
  zmq::context_t context;
  PeerNode a(context);
  PeerNode b(context);
  const std::string to_a = a.peers().endpoint();
  const std::string to_b = b.peers().endpoint();
  ASSERT_TRUE(SendWhenConnected(a, to_b, "before"));
  ASSERT_TRUE(SendWhenConnected(b, to_a, "before"));
  ASSERT_TRUE(a.WaitFor(1));
  ASSERT_TRUE(b.WaitFor(1));
  auto set_cut = [&](bool cut) {
    a.OnLoop([&] {
      a.peers().SetCut(cut);
      return 0;
    });
  };
  set_cut(true);
  EXPECT_FALSE(a.OnLoop([&] { return a.peers().Send(to_b, kGossip, "out"); }));
  // b's connection stays up, so b sends; a drops what arrives.
  EXPECT_TRUE(b.OnLoop([&] { return b.peers().Send(to_a, kGossip, "in"); }));
  metrics::Counter& cut = a.registry().GetCounter("sprawl_peer_messages_cut_total", "");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (cut.Value() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(cut.Value(), 2u) << "one message out, one in";
  EXPECT_EQ(a.received().size(), 1u);
  EXPECT_EQ(b.received().size(), 1u);

  set_cut(false);
  ASSERT_TRUE(a.OnLoop([&] { return a.peers().Send(to_b, kGossip, "healed"); }));
  ASSERT_TRUE(b.OnLoop([&] { return b.peers().Send(to_a, kGossip, "healed"); }));
  ASSERT_TRUE(a.WaitFor(2));
  ASSERT_TRUE(b.WaitFor(2));
  EXPECT_EQ(a.received()[1].second, "healed");
  EXPECT_EQ(b.received()[1].second, "healed");
}

TEST(PeerTransportTest, TheNumberOfPeersIsBounded) {
  zmq::context_t context;
  PeerTransport::Options options;
  options.max_peers = 2;
  PeerNode a(context, options);
  PeerNode b(context);
  for (int port : {1001, 1002, 1003}) {
    a.OnLoop(
        [&] { return a.peers().Send("tcp://127.0.0.1:" + std::to_string(port), kGossip, ""); });
  }
  EXPECT_EQ(a.OnLoop([&] { return a.peers().connections(); }), 2u);
  const std::string to_b = b.peers().endpoint();
  EXPECT_FALSE(a.OnLoop([&] { return a.peers().Send(to_b, kGossip, "refused"); }))
      << "a third peer is refused";
  EXPECT_EQ(a.OnLoop([&] { return a.peers().connections(); }), 2u);
  a.OnLoop([&] {
    a.peers().Disconnect("tcp://127.0.0.1:1001");
    return 0;
  });
  EXPECT_TRUE(SendWhenConnected(a, to_b, "now there is room"));
  ASSERT_TRUE(b.WaitFor(1));
  EXPECT_EQ(b.received()[0].second, "now there is room");
}

// A raw DEALER: what a misdirected client or a broken peer would send.
protocol::pb::Error SendRaw(zmq::context_t& context, const std::string& endpoint, uint16_t type,
                            uint8_t flags) {
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 10'000);
  dealer.connect(endpoint);
  FrameHeader header;
  header.type = type;
  header.flags = flags;
  header.correlation_id = 7;
  const std::string encoded = EncodeHeader(header);
  dealer.send(zmq::buffer(encoded), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer(""), zmq::send_flags::none);
  std::vector<zmq::message_t> reply;
  EXPECT_TRUE(zmq::recv_multipart(dealer, std::back_inserter(reply)));
  protocol::pb::Error error;
  if (reply.size() >= 2) error.ParseFromString(reply[1].to_string());
  return error;
}

TEST(PeerTransportTest, EachPortRefusesTheOthersMessagesNamingTheRightPort) {
  zmq::context_t context;
  PeerNode a(context);
  auto error = SendRaw(context, a.peers().endpoint(),
                       static_cast<uint16_t>(protocol::MessageType::kPing), 0);
  EXPECT_NE(error.message().find("client port"), std::string::npos) << error.message();
  EXPECT_TRUE(a.received().empty());

  metrics::Registry registry;
  EventLoop loop(SystemClock::Instance());
  auto client_port = ServerEndpoint::Bind(context, loop, "tcp://127.0.0.1:0", Limits{}, registry,
                                          [](Incoming) { FAIL() << "must not be handed on"; });
  ASSERT_TRUE(client_port.ok());
  std::thread runner([&] { loop.Run(); });
  error = SendRaw(context, (*client_port)->endpoint(), kGossip, kFlagNoReply);
  EXPECT_NE(error.message().find("node-to-node"), std::string::npos) << error.message();
  loop.Stop();
  runner.join();
}

}  // namespace
}  // namespace sprawl::transport
