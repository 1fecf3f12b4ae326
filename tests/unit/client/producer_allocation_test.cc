// The producer's throughput path allocates nothing per record once a
// partition's batch size is known: the record is encoded into the open
// batch, and a record without a callback stores none. Counted by replacing
// the global operator new for this test binary (counting only on a thread
// that asks for it, so the other tests pay one thread-local check).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "../broker/broker_test_util.h"
#include "core/client/producer.h"
#include "core/node/node.h"

namespace {
thread_local bool counting = false;
thread_local uint64_t allocations = 0;
}  // namespace

// GCC, inlining these into gtest's factories at -O1, takes the malloc in
// operator new and the free in operator delete for a mismatched pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
// The nothrow forms too (libzmq's threads use them): left to the runtime,
// they would pair its allocator with the free below (ASan: alloc-dealloc
// mismatch).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace sprawl::client {
namespace {

TEST(ProducerAllocationTest, SteadyStateSendsAllocateOncePerBatchNotPerRecord) {
  broker::testing::ScratchDir dir;
  node::NodeConfig config;
  config.data_dir = dir.Sub("data");
  config.client_port = 0;
  config.http_port = 0;
  auto node = node::Node::Start(config);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ClientConfig cc;
  cc.server = (*node)->client_endpoint();
  auto client = Client::Connect(cc);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->CreateTopic("steady", pb::TopicConfig()).ok());

  ProducerConfig pc;
  pc.acks = pb::ACK_LEADER;
  pc.batch_bytes = 64u << 10;
  std::atomic<uint64_t> acked{0};
  pc.on_batch = [&](const BatchOutcome& batch) {
    if (batch.status.ok()) acked += batch.records;
  };
  Producer producer(**client, pc);
  const std::string topic = "steady";
  const std::string value(100, 'v');
  // Warm-up: the partition learns its batch size, the topic is resolved.
  constexpr uint64_t kWarmUp = 5'000;
  for (uint64_t i = 0; i < kWarmUp; ++i) producer.Send(topic, std::nullopt, value, {}, nullptr);
  ASSERT_TRUE(producer.Flush().ok());

  constexpr uint64_t kCounted = 20'000;
  counting = true;
  for (uint64_t i = 0; i < kCounted; ++i) producer.Send(topic, std::nullopt, value, {}, nullptr);
  counting = false;
  const uint64_t counted = allocations;
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(acked.load(), kWarmUp + kCounted);
  // 20,000 records of 116 bytes fill about 36 batches of 64 KiB; each takes
  // its buffer and, now and then, a slot in the partition's queue.
  EXPECT_LE(counted, kCounted / 100) << counted << " allocations for " << kCounted << " sends";
}

}  // namespace
}  // namespace sprawl::client
