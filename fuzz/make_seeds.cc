// Writes small valid seed inputs for every fuzz target, in the layouts of
// fuzz/fuzz_input.h, using the real encoders. fuzz/run_fuzzers.sh runs it
// before each fuzzing session, so the seeds always match the current formats;
// the same files, written once, are checked in under fuzz/corpus/.
//
// Usage: make_fuzz_seeds <output-dir>   (creates <output-dir>/<target>/...)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/broker/delivery_cursor.h"
#include "core/broker/group_checkpoint_entry.h"
#include "core/broker/topic_config.h"
#include "core/meta/meta_command.h"
#include "core/overlay/codec.h"
#include "core/protocol/message_type.h"
#include "core/protocol/messages.h"
#include "core/replica/control_entry.h"
#include "core/replica/partition_replicas.h"
#include "core/replication/codec.h"
#include "core/replication/host/raft_storage.h"
#include "core/storage/batch_format.h"
#include "core/storage/compression.h"
#include "core/storage/keys.h"
#include "core/storage/partition_state_codec.h"
#include "core/storage/record_batch.h"
#include "core/storage/segment_index.h"
#include "core/transport/frame.h"
#include "core/util/byte_io.h"
#include "fuzz/fuzz_input.h"

namespace sprawl::fuzz {
namespace {

namespace fs = std::filesystem;
namespace bf = storage::batch_format;
using storage::Compression;

class SeedWriter {
 public:
  explicit SeedWriter(fs::path dir) : dir_(std::move(dir)) {}

  // Writes one seed: the selector byte, then `body`.
  void Write(const std::string& target, const std::string& name, uint8_t selector,
             std::string_view body) {
    const fs::path target_dir = dir_ / target;
    std::error_code ec;
    fs::create_directories(target_dir, ec);
    std::ofstream out(target_dir / name, std::ios::binary | std::ios::trunc);
    out.put(static_cast<char>(selector));
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.close();
    if (ec || !out) {
      std::fprintf(stderr, "make_fuzz_seeds: cannot write %s\n", (target_dir / name).c_str());
      ok_ = false;
    }
  }

  bool ok() const { return ok_; }

 private:
  fs::path dir_;
  bool ok_ = true;
};

// A stamped batch of three records: with and without a key, with headers,
// with a timestamp that goes back (the max is not the last).
std::optional<std::string> SampleBatch(Compression compression, storage::ProducerStamp producer) {
  storage::RecordBatchBuilder builder(compression, producer);
  builder.Add(storage::RecordInput{"order-1", "{\"qty\":3}", {{"trace", "a1"}}, 1700000000000});
  builder.Add(storage::RecordInput{std::nullopt, "ping", {}, 1700000000250});
  builder.Add(storage::RecordInput{"order-2", "", {{"trace", "b2"}, {"empty", ""}}, 1700000000100});
  auto built = builder.Build();
  if (!built.ok()) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", built.status().ToString().c_str());
    return std::nullopt;
  }
  std::string batch = std::move(built).value();
  storage::StampBatch(&batch, 1000, 3);
  return batch;
}

// BatchMode::kPayload body for `batch`: flags, count, timestamps, plain payload.
std::optional<std::string> PayloadBody(std::string_view plain_batch, Compression compression) {
  auto view = storage::RecordBatchView::Parse(plain_batch);
  if (!view.ok()) return std::nullopt;
  std::string body;
  ByteWriter w(&body);
  w.U8(static_cast<uint8_t>(compression));
  w.U32(view->record_count());
  w.I64(view->first_timestamp_ms());
  w.I64(view->max_timestamp_ms());
  w.Bytes(plain_batch.substr(bf::kHeaderSize));
  return body;
}

bool WriteBatchSeeds(SeedWriter& seeds) {
  const std::string target = "record_batch_fuzz";
  const auto raw = static_cast<uint8_t>(BatchMode::kRaw);
  const auto sealed = static_cast<uint8_t>(BatchMode::kSealed);
  const auto payload = static_cast<uint8_t>(BatchMode::kPayload);
  for (const Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
    const std::string name(storage::CompressionName(c));
    auto batch = SampleBatch(c, {});
    if (!batch) return false;
    seeds.Write(target, "raw-" + name, raw, *batch);
    seeds.Write(target, "sealed-" + name, sealed, *batch);
  }
  auto plain = SampleBatch(Compression::kNone, {});
  auto producer = SampleBatch(Compression::kNone, {42, 7});
  if (!plain || !producer) return false;
  seeds.Write(target, "raw-producer", raw, *producer);
  for (const Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
    auto body = PayloadBody(*plain, c);
    if (!body) return false;
    seeds.Write(target, "payload-" + std::string(storage::CompressionName(c)), payload, *body);
  }
  // A batch from a newer format: readers must answer UNSUPPORTED_VERSION.
  std::string newer = *plain;
  newer[bf::kVersionPos] = static_cast<char>(bf::kBatchFormatVersion + 1);
  seeds.Write(target, "sealed-newer-version", sealed, newer);
  return true;
}

void WriteCodecSeeds(SeedWriter& seeds) {
  const std::string target = "storage_codec_fuzz";
  auto selector = [](CodecTarget t) { return static_cast<uint8_t>(t); };

  std::string segment;
  ByteWriter(&segment).U64(100);  // the first offset, from the key
  segment += storage::SegmentInfo{100, 199, 4096, 3, 1700000000000, 2}.Encode();
  seeds.Write(target, "segment-info", selector(CodecTarget::kSegmentInfo), segment);
  seeds.Write(target, "log-start", selector(CodecTarget::kLogStart),
              storage::state_codec::EncodeLogStart({500, 4}));
  seeds.Write(target, "offset", selector(CodecTarget::kOffset),
              storage::state_codec::EncodeOffset(1234));
  seeds.Write(target, "snapshot", selector(CodecTarget::kSnapshot),
              storage::state_codec::EncodeSnapshot({99, 3, "cursor-state"}));
  seeds.Write(target, "partition-id", selector(CodecTarget::kPartitionId),
              storage::state_codec::EncodePartitionId(7));
  seeds.Write(target, "offset-key", selector(CodecTarget::kOffsetKey),
              storage::keys::Offset(7, 1234));
  seeds.Write(target, "registry-key", selector(CodecTarget::kRegistryKey),
              storage::keys::Registry({"orders.eu-west", 3}));

  // One read of every kind, each followed by what it reads.
  std::string program;
  ByteWriter w(&program);
  auto op = [&w](ByteReaderOp o) { w.U8(static_cast<uint8_t>(o)); };
  op(ByteReaderOp::kU8);
  w.U8(0xfe);
  op(ByteReaderOp::kU16);
  w.U16(0xbeef);
  op(ByteReaderOp::kU32);
  w.U32(0xdeadbeef);
  op(ByteReaderOp::kU64);
  w.U64(1ull << 40);
  op(ByteReaderOp::kI64);
  w.I64(-2);
  op(ByteReaderOp::kBigU32);
  w.BigU32(7);
  op(ByteReaderOp::kBigU64);
  w.BigU64(1234);
  op(ByteReaderOp::kVarU64);
  w.VarU64(300);
  op(ByteReaderOp::kVarU64);
  w.VarU64(~0ull);
  op(ByteReaderOp::kVarI64);
  w.VarI64(-5);
  w.U8(static_cast<uint8_t>(ByteReaderOp::kBytes) | (3 << 4));
  w.Bytes("abc");
  seeds.Write(target, "byte-reader", selector(CodecTarget::kByteReader), program);

  // File names stay free of ':' so that the corpus checks out everywhere.
  seeds.Write(target, "fsync-always", selector(CodecTarget::kFsyncPolicy), "always");
  seeds.Write(target, "fsync-never", selector(CodecTarget::kFsyncPolicy), "never");
  seeds.Write(target, "fsync-interval", selector(CodecTarget::kFsyncPolicy), "interval:10");
  for (const char* name : {"zstd", "memory"}) {
    seeds.Write(target, std::string("name-") + name, selector(CodecTarget::kNames), name);
  }
}

}  // namespace
}  // namespace sprawl::fuzz

namespace sprawl::fuzz {

// transport_fuzz: frames as (length byte, bytes); the selector is the header
// frame's length.
void WriteTransportSeeds(SeedWriter& seeds) {
  auto frame = [](std::string_view bytes) {
    std::string out(1, static_cast<char>(bytes.size() < 255 ? bytes.size() : 255));
    out.append(bytes);
    return out;
  };
  transport::FrameHeader header;
  header.type = static_cast<uint16_t>(protocol::MessageType::kPublish);
  header.correlation_id = 7;
  protocol::pb::PublishRequest publish;
  publish.set_topic("orders");
  publish.add_batches()->set_partition(1);
  auto batch = SampleBatch(Compression::kNone, {});
  const std::string encoded = transport::EncodeHeader(header);
  seeds.Write("transport_fuzz", "publish", static_cast<uint8_t>(encoded.size()),
              encoded + frame(publish.SerializeAsString()) + frame(batch ? *batch : ""));
  header.type = static_cast<uint16_t>(protocol::MessageType::kJoinGroup);
  protocol::pb::JoinGroupRequest join;
  join.set_topic("orders");
  join.set_group("billing");
  join.set_max_in_flight(10);
  const std::string join_header = transport::EncodeHeader(header);
  seeds.Write("transport_fuzz", "join", static_cast<uint8_t>(join_header.size()),
              join_header + frame(join.SerializeAsString()));
}

// group_cursor_fuzz: a checkpoint of a cursor with acks out of order; the
// selector is its version byte.
void WriteCursorSeeds(SeedWriter& seeds) {
  broker::DeliveryCursor cursor(100, broker::CursorConfig{});
  std::vector<broker::DeadLetter> letters;
  cursor.Take("m", 6, 200, 0, &letters);
  (void)cursor.Ack(102);
  (void)cursor.Ack(104);
  const std::string encoded = broker::EncodeCheckpoint(cursor.Checkpoint());
  seeds.Write("group_cursor_fuzz", "window", static_cast<uint8_t>(encoded[0]),
              std::string_view(encoded).substr(1));
  const std::string entry =
      broker::EncodeGroupCheckpointEntry({"workers", false, {{0, encoded}, {3, encoded}}});
  seeds.Write("group_cursor_fuzz", "replicated_entry", static_cast<uint8_t>(entry[0]),
              std::string_view(entry).substr(1));
}

// overlay_codec_fuzz: a ping carrying gossip and a push-pull of full state.
void WriteOverlaySeeds(SeedWriter& seeds) {
  overlay::Message ping;
  ping.kind = overlay::MessageKind::kPing;
  ping.sender = "n1";
  ping.sender_address = "tcp://127.0.0.1:7401";
  ping.sequence = 7;
  ping.target = "fuzz-node";
  ping.updates = {{overlay::MemberState::kSuspect,
                   3,
                   {"fuzz-node", "tcp://127.0.0.1:1", "", "", "", 0, 0},
                   "n1"},
                  {overlay::MemberState::kAlive,
                   1,
                   {"n2", "tcp://127.0.0.1:7411", "tcp://127.0.0.1:7410", "", "rack-a", 5, 9},
                   ""}};
  overlay::Message push = ping;
  push.kind = overlay::MessageKind::kPushPull;
  for (const auto& [name, message] : {std::pair{"ping", ping}, std::pair{"push", push}}) {
    const std::string encoded = overlay::Encode(message);
    seeds.Write("overlay_codec_fuzz", name, static_cast<uint8_t>(encoded[0]),
                std::string_view(encoded).substr(1));
  }
}

// raft_codec_fuzz: an append with entries (one a membership change), its
// rejection with a backtracking hint, a vote request and a snapshot.
void WriteRaftSeeds(SeedWriter& seeds) {
  using namespace replication;
  Message append;
  append.type = MessageType::kAppend;
  append.from = 2;
  append.to = 1;
  append.term = 3;
  append.index = 2;
  append.log_term = 1;
  append.commit = 2;
  append.entries = {{3, 3, EntryType::kNoop, ""},
                    {3, 4, EntryType::kConfChange, EncodeConfState({{1, 2, 3}, {4}})},
                    {3, 5, EntryType::kNormal, "payload"}};
  Message reject;
  reject.type = MessageType::kAppendResponse;
  reject.from = 2;
  reject.to = 1;
  reject.term = 2;
  reject.index = 2;
  reject.reject = true;
  reject.reject_hint = 1;
  reject.log_term = 1;
  Message vote;
  vote.type = MessageType::kPreVote;
  vote.from = 3;
  vote.to = 1;
  vote.term = 4;
  vote.index = 9;
  vote.log_term = 3;
  Message snapshot;
  snapshot.type = MessageType::kSnapshot;
  snapshot.from = 2;
  snapshot.to = 1;
  snapshot.term = 3;
  snapshot.snapshot = Snapshot{10, 3, {{1, 2, 3}, {}}, "image"};
  for (const auto& [name, message] :
       {std::pair{"append", append}, std::pair{"reject", reject}, std::pair{"prevote", vote},
        std::pair{"snapshot", snapshot}}) {
    const std::string encoded = EncodeMessage(message);
    seeds.Write("raft_codec_fuzz", name, static_cast<uint8_t>(encoded[0]),
                std::string_view(encoded).substr(1));
  }
}

// meta_fuzz: a forwarded create (with its assignment) and delete, and each
// stored Raft record.
void WriteMetaSeeds(SeedWriter& seeds) {
  using namespace replication;
  broker::TopicConfig config;
  config.partitions = 3;
  config.replication_factor = 3;
  // A version-2 create: each partition's replica set in placement order.
  const meta::MetaCommand create{meta::MetaCommand::Kind::kCreate,
                                 "n1/1",
                                 "orders",
                                 "0123456789abcdef0123456789abcdef",
                                 broker::EncodeTopicConfig(config),
                                 {{"n1", "n2", "n3"}, {"n2", "n3", "n1"}, {"n3", "n1", "n2"}}};
  const meta::MetaCommand remove{meta::MetaCommand::Kind::kDelete, "n1/2", "orders", "", "", {}};
  seeds.Write("meta_fuzz", "create", 0, meta::EncodeMetaCommand(create));
  seeds.Write("meta_fuzz", "delete", 0, meta::EncodeMetaCommand(remove));
  seeds.Write("meta_fuzz", "hard_state", 1, EncodeHardStateRecord({4, 2, 17}));
  seeds.Write("meta_fuzz", "entry", 2,
              EncodeEntryRecord({4, 18, EntryType::kNormal, meta::EncodeMetaCommand(create)}));
  seeds.Write("meta_fuzz", "snapshot", 3, EncodeSnapshotRecord({17, 4, {{1, 2, 3}, {4}}, "image"}));
  seeds.Write("meta_fuzz", "control_compact", 4,
              replica::EncodeControlEntry({replica::ControlKind::kCompact, 4096, {}}));
  seeds.Write("meta_fuzz", "partition_image", 5, replica::EncodePartitionImage({4096, 120000}));
  seeds.Write("meta_fuzz", "applied_mark", 6, replica::EncodeAppliedMark(4097, 120000));
}

}  // namespace sprawl::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output-dir>\n", argv[0]);
    return 2;
  }
  sprawl::fuzz::SeedWriter seeds{std::filesystem::path(argv[1])};
  if (!sprawl::fuzz::WriteBatchSeeds(seeds)) return 1;
  sprawl::fuzz::WriteCodecSeeds(seeds);
  sprawl::fuzz::WriteTransportSeeds(seeds);
  sprawl::fuzz::WriteMetaSeeds(seeds);
  sprawl::fuzz::WriteCursorSeeds(seeds);
  sprawl::fuzz::WriteOverlaySeeds(seeds);
  sprawl::fuzz::WriteRaftSeeds(seeds);
  return seeds.ok() ? 0 : 1;
}
