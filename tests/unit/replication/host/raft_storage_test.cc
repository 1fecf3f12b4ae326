// Durable Raft state in the node's store: what a restarted group recovers,
// and why a crash between the write of a Ready and its Advance is safe.
#include "core/replication/host/raft_storage.h"

#include <gtest/gtest.h>

#include <future>

#include "../../storage/storage_test_util.h"
#include "core/replication/codec.h"

namespace sprawl::replication {
namespace {

using storage::testing::TempDir;

constexpr GroupId kGroup = 7;

class RaftStorageTest : public ::testing::Test {
 protected:
  void OpenStore(storage::StorageMode mode = storage::StorageMode::kDisk) {
    storage::StoreOptions o;
    o.mode = mode;
    o.data_dir = dir_.Sub("data");
    o.fsync = storage::FsyncPolicy{storage::FsyncPolicy::Kind::kNever};
    auto store = storage::Store::Open(o, registry_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    raft_storage_ = std::make_unique<RaftStorage>(*store_);
  }
  // A crash of the process: everything written is in the WAL, nothing more.
  void Reopen() {
    raft_storage_.reset();
    store_.reset();
    OpenStore();
  }
  Status Persist(GroupId group, const Ready& ready) {
    std::promise<Status> p;
    raft_storage_->Persist({{group, ready}}, [&p](Status s) { p.set_value(s); });
    return p.get_future().get();
  }
  // Drives `raft` through one Ready cycle, persisting it; returns the messages.
  std::vector<Message> Cycle(Raft& raft) {
    if (!raft.HasReady()) return {};
    Ready rd = raft.GetReady();
    EXPECT_TRUE(Persist(kGroup, rd).ok());
    return raft.Advance();
  }
  std::unique_ptr<Raft> Restart(NodeId id) {
    auto state = raft_storage_->Load(kGroup);
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    EXPECT_TRUE(state->has_value());
    RaftConfig config;
    config.id = id;
    return std::make_unique<Raft>(config, std::move(**state));
  }

  TempDir dir_;
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<RaftStorage> raft_storage_;
};

TEST_F(RaftStorageTest, RecordsRoundTripAndRejectDamage) {
  const HardState hs{9, 3, 41};
  EXPECT_EQ(*DecodeHardStateRecord(EncodeHardStateRecord(hs)), hs);
  const Entry e{4, 17, EntryType::kConfChange, EncodeConfState({{1, 2, 3}, {4}})};
  EXPECT_EQ(*DecodeEntryRecord(EncodeEntryRecord(e)), e);
  const Snapshot s{17, 4, {{1, 2}, {}}, "image"};
  EXPECT_EQ(*DecodeSnapshotRecord(EncodeSnapshotRecord(s)), s);

  std::string truncated = EncodeHardStateRecord(hs);
  truncated.pop_back();
  EXPECT_EQ(DecodeHardStateRecord(truncated).status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(DecodeHardStateRecord(EncodeHardStateRecord(hs) + "x").status().code(),
            ErrorCode::kDataCorruption);
  std::string newer = EncodeEntryRecord(e);
  newer[0] = 2;
  EXPECT_EQ(DecodeEntryRecord(newer).status().code(), ErrorCode::kUnsupportedVersion);
  std::string bad_type = EncodeEntryRecord(e);
  bad_type[17] = 9;
  EXPECT_EQ(DecodeEntryRecord(bad_type).status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(DecodeSnapshotRecord(std::string(1, '\1')).status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(DecodeEntryRecord("").status().code(), ErrorCode::kDataCorruption);
}

TEST_F(RaftStorageTest, AGroupNeverCreatedHasNoState) {
  OpenStore();
  auto state = raft_storage_->Load(kGroup);
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->has_value());
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1}, {}}).ok());
  EXPECT_EQ(raft_storage_->Create(kGroup, {{1}, {}}).code(), ErrorCode::kAlreadyExists);
}

TEST_F(RaftStorageTest, RestartRecoversTermVoteCommitAndLog) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1}, {}}).ok());
  auto raft = Restart(1);
  for (int i = 0; i < 40 && raft->role() != Role::kLeader; ++i) {
    raft->Tick();
    Cycle(*raft);
  }
  ASSERT_EQ(raft->role(), Role::kLeader);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(raft->Propose("entry-" + std::to_string(i)).ok());
  while (raft->HasReady()) Cycle(*raft);
  const HardState before = raft->hard_state();
  const uint64_t last = raft->log().last_index();
  ASSERT_EQ(before.commit, last);  // the no-op and five entries

  Reopen();
  auto restarted = Restart(1);
  EXPECT_EQ(restarted->hard_state(), before);
  ASSERT_EQ(restarted->log().last_index(), last);
  EXPECT_EQ(restarted->log().At(last).data, "entry-4");
  EXPECT_EQ(restarted->conf().voters, std::vector<NodeId>{1});
  // It re-applies its committed entries and leads again, in a later term.
  ASSERT_TRUE(restarted->HasReady());
  Ready rd = restarted->GetReady();
  EXPECT_EQ(rd.committed.size(), last);
  ASSERT_TRUE(Persist(kGroup, rd).ok());
  restarted->Advance();
  for (int i = 0; i < 40 && restarted->role() != Role::kLeader; ++i) {
    restarted->Tick();
    Cycle(*restarted);
  }
  EXPECT_EQ(restarted->role(), Role::kLeader);
  EXPECT_GT(restarted->term(), before.term);
}

// The vote is written but the process dies before Advance, so the answer
// never left. The restarted node still holds the vote: a second candidate
// of the same term is refused, the first is granted again.
TEST_F(RaftStorageTest, ACrashBetweenWriteAndAdvanceKeepsTheVote) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1, 2, 3}, {}}).ok());
  auto raft = Restart(1);
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 2;
  vote.to = 1;
  vote.term = 5;
  raft->Step(vote);
  ASSERT_TRUE(raft->HasReady());
  Ready rd = raft->GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote, 2u);
  ASSERT_TRUE(Persist(kGroup, rd).ok());
  raft.reset();  // crash: no Advance, no message sent

  Reopen();
  auto restarted = Restart(1);
  EXPECT_EQ(restarted->term(), 5u);
  Message rival = vote;
  rival.from = 3;
  restarted->Step(rival);
  std::vector<Message> out = Cycle(*restarted);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, 3u);
  EXPECT_TRUE(out[0].reject);
  restarted->Step(vote);
  out = Cycle(*restarted);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, 2u);
  EXPECT_FALSE(out[0].reject);
}

// A Ready whose write never finished was never acknowledged: the node
// restarts from the previous state, and nothing that depended on the lost
// write left it.
TEST_F(RaftStorageTest, AnUnfinishedWriteLeavesThePreviousState) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1, 2, 3}, {}}).ok());
  auto raft = Restart(1);
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 2;
  vote.to = 1;
  vote.term = 5;
  raft->Step(vote);
  Ready lost = raft->GetReady();  // never written
  raft.reset();
  Reopen();
  auto restarted = Restart(1);
  EXPECT_EQ(restarted->term(), 0u);
  EXPECT_EQ(restarted->hard_state().vote, kNoNode);
}

TEST_F(RaftStorageTest, AppendsReplaceTheStoredSuffix) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1, 2, 3}, {}}).ok());
  Ready first;
  for (uint64_t i = 1; i <= 5; ++i) first.entries.push_back({1, i, EntryType::kNormal, "a"});
  first.hard_state = HardState{1, 2, 0};
  ASSERT_TRUE(Persist(kGroup, first).ok());
  Ready second;  // a new leader overwrote entries 3.. with its own
  second.entries.push_back({2, 3, EntryType::kNormal, "b"});
  ASSERT_TRUE(Persist(kGroup, second).ok());
  Reopen();
  auto state = raft_storage_->Load(kGroup);
  ASSERT_TRUE(state.ok());
  const auto& entries = (*state)->entries;
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].term, 2u);
  EXPECT_EQ(entries[2].data, "b");
  EXPECT_EQ((*state)->hard_state, (HardState{1, 2, 0}));
}

TEST_F(RaftStorageTest, AppendsWithoutARangeDeletionStillLoseEveryOverwrittenEntry) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1, 2, 3}, {}}).ok());
  auto entries = [](uint64_t term, uint64_t from, uint64_t to) {
    Ready rd;
    for (uint64_t i = from; i <= to; ++i) rd.entries.push_back({term, i, EntryType::kNormal, "x"});
    return rd;
  };
  auto terms = [&] {
    auto state = raft_storage_->Load(kGroup);
    EXPECT_TRUE(state.ok());
    std::vector<uint64_t> out;
    for (const Entry& e : (*state)->entries) out.push_back(e.term);
    return out;
  };
  ASSERT_TRUE(Persist(kGroup, entries(1, 1, 3)).ok());
  ASSERT_TRUE(Persist(kGroup, entries(1, 4, 5)).ok());  // an append: nothing to delete
  ASSERT_TRUE(Persist(kGroup, entries(2, 4, 4)).ok());  // overwrites 4, so 5 must go
  EXPECT_EQ(terms(), (std::vector<uint64_t>{1, 1, 1, 2}));
  // A new RaftStorage (a restarted process) does not know how far the stored
  // log runs: its first write of entries deletes the suffix.
  raft_storage_ = std::make_unique<RaftStorage>(*store_);
  ASSERT_TRUE(Persist(kGroup, entries(3, 3, 3)).ok());
  EXPECT_EQ(terms(), (std::vector<uint64_t>{1, 1, 3}));
  ASSERT_TRUE(Persist(kGroup, entries(3, 4, 6)).ok());
  EXPECT_EQ(terms(), (std::vector<uint64_t>{1, 1, 3, 3, 3, 3}));
}

TEST_F(RaftStorageTest, SnapshotsDropTheEntriesTheyCoverAndInstallsReplaceTheLog) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1}, {}}).ok());
  Ready rd;
  for (uint64_t i = 1; i <= 6; ++i) rd.entries.push_back({1, i, EntryType::kNormal, "x"});
  ASSERT_TRUE(Persist(kGroup, rd).ok());
  std::promise<Status> saved;
  raft_storage_->SaveSnapshot(kGroup, {4, 1, {{1}, {}}, "image"},
                              [&saved](Status s) { saved.set_value(s); });
  ASSERT_TRUE(saved.get_future().get().ok());
  Reopen();
  auto state = raft_storage_->Load(kGroup);
  ASSERT_TRUE(state.ok());
  ASSERT_TRUE((*state)->snapshot.has_value());
  EXPECT_EQ((*state)->snapshot->data, "image");
  ASSERT_EQ((*state)->entries.size(), 2u);
  EXPECT_EQ((*state)->entries[0].index, 5u);

  Ready install;
  install.snapshot = Snapshot{20, 3, {{1, 2}, {}}, "leader-image"};
  install.hard_state = HardState{3, 0, 20};
  ASSERT_TRUE(Persist(kGroup, install).ok());
  Reopen();
  state = raft_storage_->Load(kGroup);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)->snapshot->index, 20u);
  EXPECT_TRUE((*state)->entries.empty());
  EXPECT_EQ((*state)->hard_state.commit, 20u);
}

TEST_F(RaftStorageTest, AGapInTheStoredLogIsReportedAsCorruption) {
  OpenStore();
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1}, {}}).ok());
  ASSERT_TRUE(store_
                  ->PutRecord(RaftGroupPrefix(kGroup) + "e/0000000000000002",
                              EncodeEntryRecord({1, 2, EntryType::kNormal, "x"}))
                  .ok());
  EXPECT_EQ(raft_storage_->Load(kGroup).status().code(), ErrorCode::kDataCorruption);
}

TEST_F(RaftStorageTest, MemoryModeKeepsStateForTheStoresLifetime) {
  OpenStore(storage::StorageMode::kMemory);
  ASSERT_TRUE(raft_storage_->Create(kGroup, {{1}, {}}).ok());
  Ready rd;
  rd.entries.push_back({1, 1, EntryType::kNoop, ""});
  rd.hard_state = HardState{1, 1, 1};
  ASSERT_TRUE(Persist(kGroup, rd).ok());
  auto state = raft_storage_->Load(kGroup);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)->entries.size(), 1u);
  EXPECT_EQ((*state)->hard_state.commit, 1u);
  ASSERT_TRUE(raft_storage_->Drop(kGroup).ok());
  EXPECT_FALSE(raft_storage_->Load(kGroup)->has_value());
}

}  // namespace
}  // namespace sprawl::replication
