// Raft groups hosted on real event loops, talking over real peer ports on
// loopback: elections, replication, a restart that catches up.
#include "core/replication/host/raft_host.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "../../storage/storage_test_util.h"
#include "core/protocol/message_type.h"
#include "core/transport/event_loop.h"
#include "core/transport/peer_transport.h"

namespace sprawl::replication {
namespace {

using namespace std::chrono_literals;
using storage::testing::TempDir;
constexpr GroupId kGroup = 1;
constexpr uint16_t kRaftType = static_cast<uint16_t>(protocol::MessageType::kRaft);

// Peer addresses by Raft id, shared by every node of a test.
struct Directory {
  std::mutex mu;
  std::map<NodeId, std::string> addresses;
  std::string Find(NodeId id) {
    std::lock_guard lock(mu);
    auto it = addresses.find(id);
    return it == addresses.end() ? std::string() : it->second;
  }
};

// One node: a store, a loop thread, a peer port and a RaftHost.
class HostNode {
 public:
  HostNode(zmq::context_t& context, Directory& directory, NodeId id, std::string data_dir)
      : id_(id), loop_(SystemClock::Instance()) {
    storage::StoreOptions o;
    o.data_dir = std::move(data_dir);
    auto store = storage::Store::Open(o, registry_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    raft_storage_ = std::make_unique<RaftStorage>(*store_);
    auto peers = transport::PeerTransport::Bind(
        context, loop_, "tcp://127.0.0.1:0", transport::Limits{}, registry_,
        transport::PeerTransport::Options{}, [this](uint16_t type, std::string body) {
          if (type == kRaftType) host_->Receive(body);
        });
    EXPECT_TRUE(peers.ok()) << peers.status().ToString();
    peers_ = std::move(*peers);
    {
      std::lock_guard lock(directory.mu);
      directory.addresses[id] = peers_->endpoint();
    }
    RaftHostOptions options;
    options.tick = 20ms;
    host_ = std::make_unique<RaftHost>(
        id, *raft_storage_, SystemClock::Instance(),
        [this](std::function<void()> fn) { loop_.Post(std::move(fn)); },
        [this, &directory](NodeId to, std::string bytes) {
          const std::string address = directory.Find(to);
          if (!address.empty()) peers_->Send(address, kRaftType, bytes);
        },
        options);
    host_->SetApply(
        [this](GroupId, const Entry& e) {
          if (e.type != EntryType::kNormal) return;
          std::lock_guard lock(mu_);
          applied_.push_back(e.data);
        },
        [this](GroupId, const Snapshot& snapshot) {
          std::lock_guard lock(mu_);
          restored_.push_back(snapshot.data);
        });
    loop_.SetTimer([this] { return host_->NextDeadlineNanos(); }, [this] { host_->Tick(); });
    thread_ = std::thread([this] { loop_.Run(); });
  }
  ~HostNode() {
    loop_.Stop();
    thread_.join();
    host_.reset();
    peers_.reset();
    raft_storage_.reset();
    store_.reset();
  }

  template <typename Fn>
  auto OnLoop(Fn fn) {
    std::promise<decltype(fn())> done;
    auto result = done.get_future();
    loop_.Post([&] { done.set_value(fn()); });
    return result.get();
  }
  bool IsLeader() {
    return OnLoop([this] {
      const Raft* r = host_->group(kGroup);
      return r && r->role() == Role::kLeader;
    });
  }
  std::vector<std::string> applied() {
    std::lock_guard lock(mu_);
    return applied_;
  }
  std::vector<std::string> restored() {
    std::lock_guard lock(mu_);
    return restored_;
  }
  RaftHost& host() { return *host_; }
  NodeId id() const { return id_; }

 private:
  NodeId id_;
  metrics::Registry registry_;
  transport::EventLoop loop_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<RaftStorage> raft_storage_;
  std::unique_ptr<transport::PeerTransport> peers_;
  std::unique_ptr<RaftHost> host_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> applied_;
  std::vector<std::string> restored_;
};

template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds limit = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class RaftHostTest : public ::testing::Test {
 protected:
  std::unique_ptr<HostNode> Start(NodeId id) {
    auto node = std::make_unique<HostNode>(context_, directory_, id,
                                           dir_.Sub("node-" + std::to_string(id)));
    const ConfState voters{{1, 2, 3}, {}};
    Status opened = node->OnLoop([&] { return node->host().OpenGroup(kGroup, voters); });
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    return node;
  }
  HostNode* WaitForLeader(const std::vector<HostNode*>& nodes) {
    HostNode* leader = nullptr;
    WaitUntil([&] {
      for (HostNode* n : nodes) {
        if (n->IsLeader()) {
          leader = n;
          return true;
        }
      }
      return false;
    });
    return leader;
  }
  // Proposes on whichever node leads, retrying while leadership moves.
  void ProposeAll(const std::vector<HostNode*>& nodes, const std::vector<std::string>& data) {
    for (const std::string& d : data) {
      ASSERT_TRUE(WaitUntil([&] {
        HostNode* leader = WaitForLeader(nodes);
        return leader && leader->OnLoop([&] { return leader->host().Propose(kGroup, d).ok(); });
      }));
    }
  }

  TempDir dir_;
  zmq::context_t context_{1};
  Directory directory_;
};

TEST_F(RaftHostTest, ThreeNodesElectOneLeaderAndApplyTheSameEntriesOverThePeerPort) {
  auto a = Start(1);
  auto b = Start(2);
  auto c = Start(3);
  const std::vector<HostNode*> nodes{a.get(), b.get(), c.get()};
  ASSERT_NE(WaitForLeader(nodes), nullptr);
  ProposeAll(nodes, {"x", "y", "z"});
  for (HostNode* n : nodes) {
    EXPECT_TRUE(WaitUntil([&] { return n->applied().size() == 3; })) << n->id();
    EXPECT_EQ(n->applied(), (std::vector<std::string>{"x", "y", "z"}));
  }
  int leaders = 0;
  for (HostNode* n : nodes) leaders += n->IsLeader() ? 1 : 0;
  EXPECT_EQ(leaders, 1);
}

TEST_F(RaftHostTest, ARestartedNodeReplaysItsLogAndCatchesUp) {
  auto a = Start(1);
  auto b = Start(2);
  auto c = Start(3);
  ProposeAll({a.get(), b.get(), c.get()}, {"one"});
  ASSERT_TRUE(WaitUntil([&] { return c->applied().size() == 1; }));
  c.reset();  // stopped, its store closed
  // What the membership layer reports. If c led and the idle group had
  // quiesced before it stopped, a and b would otherwise wait for a heartbeat
  // that never comes (seen under load: no leader for 30 s).
  for (HostNode* n : {a.get(), b.get()}) {
    n->OnLoop([&] {
      n->host().OnNodeDown(3);
      return 0;
    });
  }
  ProposeAll({a.get(), b.get()}, {"two", "three"});
  c = Start(3);
  EXPECT_TRUE(WaitUntil([&] { return c->applied().size() == 3; }));
  EXPECT_EQ(c->applied(), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(RaftHostTest, ALeaderKilledIsReplacedAndTheSurvivorsGoOn) {
  auto a = Start(1);
  auto b = Start(2);
  auto c = Start(3);
  std::vector<std::unique_ptr<HostNode>*> all{&a, &b, &c};
  ProposeAll({a.get(), b.get(), c.get()}, {"before"});
  // Committed everywhere before the leader dies (a proposal alone may die with it).
  for (auto* n : all) ASSERT_TRUE(WaitUntil([&] { return (*n)->applied().size() == 1; }));
  HostNode* leader = WaitForLeader({a.get(), b.get(), c.get()});
  ASSERT_NE(leader, nullptr);
  const NodeId dead = leader->id();
  std::vector<HostNode*> survivors;
  for (auto* n : all) {
    if (n->get() == leader) {
      n->reset();
    } else {
      survivors.push_back(n->get());
    }
  }
  // What the membership layer reports; quiesced followers need it to elect.
  for (HostNode* n : survivors) {
    n->OnLoop([&] {
      n->host().OnNodeDown(dead);
      return 0;
    });
  }
  ProposeAll(survivors, {"after"});
  for (HostNode* n : survivors) {
    EXPECT_TRUE(WaitUntil([&] { return n->applied().size() == 2; })) << n->OnLoop([&] {
      const Raft* r = n->host().group(kGroup);
      return "role " + std::to_string(int(r->role())) + " term " + std::to_string(r->term()) +
             " commit " + std::to_string(r->commit()) + " last " +
             std::to_string(r->log().last_index()) + " leader " + std::to_string(r->leader());
    }) << " applied " << n->applied().size();
    EXPECT_EQ(n->applied().back(), "after");
  }
}

TEST_F(RaftHostTest, ACompactedLogRestartsFromItsImageAndAFollowerBehindItReceivesIt) {
  auto a = Start(1);
  auto b = Start(2);
  auto c = Start(3);
  ProposeAll({a.get(), b.get(), c.get()}, {"one"});
  ASSERT_TRUE(WaitUntil([&] { return c->applied().size() == 1; }));
  c.reset();
  for (HostNode* n : {a.get(), b.get()}) {
    n->OnLoop([&] {
      n->host().OnNodeDown(3);
      return 0;
    });
  }
  ProposeAll({a.get(), b.get()}, {"two", "three"});
  for (HostNode* n : {a.get(), b.get()}) {
    ASSERT_TRUE(WaitUntil([&] { return n->applied().size() == 3; }));
  }
  // Both survivors drop their whole log: whichever leads, c is behind it.
  std::map<NodeId, uint64_t> compacted;
  for (HostNode* n : {a.get(), b.get()}) {
    ASSERT_TRUE(WaitUntil([&] {
      return n->OnLoop([&] {
        const Raft* r = n->host().group(kGroup);
        return r->commit() == r->log().last_index();
      });
    }));
    n->OnLoop([&] {
      const uint64_t last = n->host().group(kGroup)->log().last_index();
      EXPECT_EQ(n->host().Compact(kGroup, last + 1, "x").code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(n->host().Compact(99, last, "x").code(), ErrorCode::kNotFound);
      Status s = n->host().Compact(kGroup, last, "image@" + std::to_string(last));
      EXPECT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(n->host().group(kGroup)->log().first_index(), last + 1);
      EXPECT_TRUE(n->host().Compact(kGroup, last, "again").ok());  // already done
      compacted[n->id()] = last;
      return 0;
    });
  }
  // c restarts on its old log, which ends before the leader's first entry:
  // the leader's image reaches it, then the entries after it.
  c = Start(3);
  ProposeAll({a.get(), b.get(), c.get()}, {"four"});
  EXPECT_TRUE(WaitUntil([&] { return !c->applied().empty() && c->applied().back() == "four"; }));
  ASSERT_EQ(c->restored().size(), 1u);
  EXPECT_TRUE(c->restored()[0] == "image@" + std::to_string(compacted[1]) ||
              c->restored()[0] == "image@" + std::to_string(compacted[2]))
      << c->restored()[0];
  for (const std::string& e : c->applied()) EXPECT_NE(e, "two");  // inside the image
  // a restarts from its own image and applies only what follows it.
  a.reset();
  for (HostNode* n : {b.get(), c.get()}) {
    n->OnLoop([&] {
      n->host().OnNodeDown(1);
      return 0;
    });
  }
  a = Start(1);
  EXPECT_EQ(a->restored(), (std::vector<std::string>{"image@" + std::to_string(compacted[1])}));
  EXPECT_TRUE(WaitUntil([&] { return !a->applied().empty() && a->applied().back() == "four"; }));
  for (const std::string& e : a->applied()) EXPECT_NE(e, "one");
}

TEST_F(RaftHostTest, BatchesThatDoNotDecodeOrAreForAnotherNodeAreDropped) {
  auto a = Start(1);
  a->OnLoop([&] {
    a->host().Receive("not a batch");
    PeerBatch other;
    other.from = 2;
    other.to = 9;
    a->host().Receive(EncodeBatch(other));
    return 0;
  });
  EXPECT_EQ(a->OnLoop([&] { return a->host().rejected_batches(); }), 2u);
}

TEST(RaftNodeIdTest, IsStableAndNeverZero) {
  EXPECT_EQ(RaftNodeId("node-1"), RaftNodeId("node-1"));
  EXPECT_NE(RaftNodeId("node-1"), RaftNodeId("node-2"));
  EXPECT_NE(RaftNodeId(""), kNoNode);
}

}  // namespace
}  // namespace sprawl::replication
