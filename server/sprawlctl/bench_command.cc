// sprawlctl bench produce|consume|e2e: throughput and latency against a node.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "core/client/group_consumer.h"
#include "core/client/producer.h"
#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  std::string topic = "bench";
  uint64_t count = 1'000'000;
  double duration = 0;  // seconds; when set, overrides count for produce
  size_t size = 100;
  size_t batch_bytes = 256u << 10;
  int linger_ms = 5;
  std::string acks = "all";  // the product's default (docs/configuration.md)
  uint32_t partitions = 4;
  int producers = 1;
  int consumers = 1;
  uint32_t max_in_flight = 1000;
  uint64_t max_in_flight_bytes = 0;  // 0 = the node's default
  uint64_t rate = 50'000;            // e2e messages per second
  std::string group;
  bool sync = false;  // produce: each producer waits for every ack
};

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

Percentiles Summarize(std::vector<int64_t>& nanos) {
  Percentiles p;
  if (nanos.empty()) return p;
  std::sort(nanos.begin(), nanos.end());
  auto at = [&](double q) {
    return static_cast<double>(
               nanos[std::min(nanos.size() - 1, static_cast<size_t>(q * nanos.size()))]) /
           1e6;
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(nanos.back()) / 1e6;
  return p;
}

Status EnsureTopic(client::Client& client, const BenchFlags& f) {
  auto described = client.DescribeTopic(f.topic);
  if (described.ok()) return Status::Ok();
  if (described.status().code() != ErrorCode::kNotFound) return described.status();
  client::pb::TopicConfig config;
  config.set_partitions(f.partitions);
  return client.CreateTopic(f.topic, config).status();
}

Result<client::pb::AckLevel> Acks(const std::string& text) {
  if (text == "none") return client::pb::ACK_NONE;
  if (text == "leader") return client::pb::ACK_LEADER;
  if (text == "all") return client::pb::ACK_ALL;
  return InvalidArgument("--acks must be none, leader or all");
}

// `bytes`: the payload bytes of the `messages` (what was sent, or what was
// actually received), from which the size and MB/s are reported.
void Report(const Context& ctx, const std::string& what, const BenchFlags& f, uint64_t messages,
            uint64_t bytes, double seconds, std::vector<int64_t>* latencies,
            const std::string& latency_kind) {
  const double rate = static_cast<double>(messages) / seconds;
  const double mb = static_cast<double>(bytes) / seconds / 1e6;
  const uint64_t size = messages == 0 ? 0 : bytes / messages;
  Percentiles p;
  if (latencies != nullptr) p = Summarize(*latencies);
  nlohmann::json out = {{"bench", what},           {"messages", messages},
                        {"seconds", seconds},      {"msgs_per_sec", rate},
                        {"mb_per_sec", mb},        {"size", size},
                        {"bytes", bytes},          {"partitions", f.partitions},
                        {"acks", f.acks},          {"producers", f.producers},
                        {"consumers", f.consumers}};
  if (latencies != nullptr) {
    out["latency"] = {{"kind", latency_kind},
                      {"p50_ms", p.p50},
                      {"p99_ms", p.p99},
                      {"p999_ms", p.p999},
                      {"max_ms", p.max}};
  }
  Print(ctx, out, [&] {
    // The size is the mean payload: a topic may hold messages of several sizes.
    std::printf("%s: %llu messages of %llu B (%.1f MB) in %.2f s: %.0f msg/s, %.1f MB/s\n",
                what.c_str(), static_cast<unsigned long long>(messages),
                static_cast<unsigned long long>(size), static_cast<double>(bytes) / 1e6, seconds,
                rate, mb);
    if (latencies != nullptr) {
      std::printf("  %s latency: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
                  latency_kind.c_str(), p.p50, p.p99, p.p999, p.max);
    }
  });
}

int RunProduce(Context& ctx, const BenchFlags& f) {
  auto acks = Acks(f.acks);
  if (!acks.ok()) return Fail(acks.status());
  auto admin = ctx.Connect();
  if (!admin.ok()) return Fail(admin.status());
  Status topic = EnsureTopic(**admin, f);
  if (!topic.ok()) return Fail(topic);
  const std::string payload(f.size, 'x');
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<bool> error_shown{false};
  std::mutex latency_mu;
  std::vector<int64_t> latencies;
  const auto start = Clock::now();
  const auto stop_at =
      f.duration > 0 ? start + std::chrono::duration<double>(f.duration) : Clock::time_point::max();
  std::vector<std::thread> threads;
  for (int t = 0; t < f.producers; ++t) {
    threads.emplace_back([&, t] {
      client::ClientConfig cc;
      cc.server = ctx.server;
      auto client = client::Client::Connect(cc);
      if (!client.ok()) return void(++failed);
      client::ProducerConfig pc;
      pc.acks = *acks;
      pc.batch_bytes = f.batch_bytes;
      pc.linger = std::chrono::milliseconds(f.linger_ms);
      // Outcomes are counted per batch; only the timed records take a
      // callback of their own, as a caller that needs no per-record answer
      // would publish.
      pc.on_batch = [&](const client::BatchOutcome& batch) {
        (batch.status.ok() ? acked : failed) += batch.records;
      };
      client::Producer producer(**client, pc);
      const uint64_t mine =
          f.count / f.producers + (static_cast<uint64_t>(t) < f.count % f.producers);
      std::vector<int64_t> local;
      std::mutex local_mu;
      for (uint64_t i = 0; f.duration > 0 ? Clock::now() < stop_at : i < mine; ++i) {
        if (f.sync) {
          // One at a time: every record waits for its acknowledgement.
          const int64_t sent = NowNanos();
          auto ack = producer.SendSync(f.topic, std::nullopt, payload);
          local.push_back(NowNanos() - sent);
          if (!ack.ok() && !error_shown.exchange(true)) {
            std::cerr << "sprawlctl: " << ack.status().ToString() << "\n";  // counted by on_batch
          }
          continue;
        }
        if ((i & 63) != 0) {
          producer.Send(f.topic, std::nullopt, payload, {}, nullptr);
          continue;
        }
        const int64_t sent = NowNanos();  // every 64th message is timed
        producer.Send(f.topic, std::nullopt, payload, {},
                      [&, sent](Result<client::PublishAck> ack) {
                        if (!ack.ok()) return;
                        std::lock_guard lock(local_mu);
                        local.push_back(NowNanos() - sent);
                      });
      }
      (void)producer.Flush(std::chrono::minutes(5));
      producer.Close();
      std::lock_guard lock(latency_mu);
      latencies.insert(latencies.end(), local.begin(), local.end());
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed > 0) std::cerr << "sprawlctl: " << failed << " publishes failed\n";
  if (f.sync) {
    double mean = 0;
    for (int64_t l : latencies) mean += static_cast<double>(l);
    mean = latencies.empty() ? 0 : mean / static_cast<double>(latencies.size()) / 1e3;
    Report(ctx, "produce (sync)", f, acked, acked * f.size, seconds, &latencies,
           "round trip (mean " + std::to_string(static_cast<int>(mean)) + " us)");
  } else {
    Report(ctx, "produce", f, acked, acked * f.size, seconds, &latencies, "publish ack");
  }
  return failed > 0 ? 1 : 0;
}

int RunConsume(Context& ctx, const BenchFlags& f) {
  auto admin = ctx.Connect();
  if (!admin.ok()) return Fail(admin.status());
  auto described = (*admin)->DescribeTopic(f.topic);
  if (!described.ok()) return Fail(described.status());
  uint64_t available = 0;
  for (const auto& p : described->partitions()) available += p.commit_index() - p.first_offset();
  const uint64_t target = std::min(f.count, available);
  if (target == 0)
    return Fail(InvalidArgument("topic '" + f.topic + "' is empty; run bench produce first"));
  const std::string group =
      f.group.empty() ? "bench-" + std::to_string(std::random_device{}()) : f.group;
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> received_bytes{0};
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < f.consumers; ++t) {
    threads.emplace_back([&] {
      client::ClientConfig cc;
      cc.server = ctx.server;
      auto client = client::Client::Connect(cc);
      if (!client.ok()) return void(failed = true);
      client::GroupConsumerConfig gc;
      gc.topic = f.topic;
      gc.group = group;
      gc.client_name = "sprawlctl-bench";
      gc.max_in_flight = f.max_in_flight;
      gc.max_in_flight_bytes = f.max_in_flight_bytes;
      auto consumer = client::GroupConsumer::Join(**client, gc);
      if (!consumer.ok()) {
        std::cerr << "sprawlctl: " << consumer.status().ToString() << "\n";
        return void(failed = true);
      }
      int idle_polls = 0;  // 100 empty polls of 100 ms: nothing came for 10 s
      while (received < target && idle_polls < 100) {
        auto m = (*consumer)->Receive(std::chrono::milliseconds(100));
        if (!m.ok()) break;
        if (!m->has_value()) {
          ++idle_polls;
          continue;
        }
        idle_polls = 0;
        received_bytes += (**m).value.size();
        (*consumer)->Ack(**m);
        ++received;
      }
      (void)(*consumer)->Close();
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Report(ctx, "consume (group, acked)", f, received, received_bytes, seconds, nullptr, "");
  return failed || received < target ? 1 : 0;
}

int RunEndToEnd(Context& ctx, const BenchFlags& f) {
  auto admin = ctx.Connect();
  if (!admin.ok()) return Fail(admin.status());
  Status topic = EnsureTopic(**admin, f);
  if (!topic.ok()) return Fail(topic);
  const std::string group = "e2e-" + std::to_string(std::random_device{}());
  client::ClientConfig cc;
  cc.server = ctx.server;
  auto consumer_client = client::Client::Connect(cc);
  if (!consumer_client.ok()) return Fail(consumer_client.status());
  client::GroupConsumerConfig gc;
  gc.topic = f.topic;
  gc.group = group;
  gc.start_latest = true;
  gc.max_in_flight = f.max_in_flight;
  gc.max_in_flight_bytes = f.max_in_flight_bytes;
  auto consumer = client::GroupConsumer::Join(**consumer_client, gc);
  if (!consumer.ok()) return Fail(consumer.status());

  std::vector<int64_t> latencies;
  latencies.reserve(f.count);
  uint64_t received_bytes = 0;
  std::atomic<bool> producing_done{false};
  std::thread reader([&] {
    auto idle_since = Clock::now();
    while (latencies.size() < f.count && Clock::now() - idle_since < std::chrono::seconds(5)) {
      auto m = (*consumer)->Receive(std::chrono::milliseconds(100));
      if (!m.ok()) break;
      if (!m->has_value()) continue;
      idle_since = Clock::now();
      int64_t sent = 0;
      if ((*m)->value.size() >= sizeof(sent)) std::memcpy(&sent, (*m)->value.data(), sizeof(sent));
      latencies.push_back(NowNanos() - sent);
      received_bytes += (*m)->value.size();
      (*consumer)->Ack(**m);
    }
  });

  auto producer_client = client::Client::Connect(cc);
  if (!producer_client.ok()) return Fail(producer_client.status());
  client::ProducerConfig pc;
  pc.linger = std::chrono::milliseconds(f.linger_ms);
  client::Producer producer(**producer_client, pc);
  std::string payload(std::max<size_t>(f.size, sizeof(int64_t)), 'x');
  const auto start = Clock::now();
  const double interval = 1.0 / static_cast<double>(f.rate);
  for (uint64_t i = 0; i < f.count; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(interval * static_cast<double>(i)));
    while (Clock::now() < due) {
    }
    const int64_t now = NowNanos();
    std::memcpy(payload.data(), &now, sizeof(now));
    producer.Send(f.topic, std::nullopt, payload, {}, [](Result<client::PublishAck>) {});
  }
  (void)producer.Flush();
  producing_done = true;
  reader.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  (void)(*consumer)->Close();
  Report(ctx, "end-to-end at " + std::to_string(f.rate) + " msg/s", f, latencies.size(),
         received_bytes, seconds, &latencies, "publish-to-delivery");
  return latencies.size() < f.count ? 1 : 0;
}

}  // namespace

void AddBenchCommands(CLI::App& app, Context& ctx, int& exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "Measure throughput and latency against a node");
  bench->require_subcommand(1);
  auto f = std::make_shared<BenchFlags>();
  auto common = [f](CLI::App* cmd) {
    cmd->add_option("-t,--topic", f->topic, "Topic (created when missing)")->capture_default_str();
    cmd->add_option("-n,--count", f->count, "Messages")->capture_default_str();
    cmd->add_option("-s,--size", f->size, "Payload bytes")->capture_default_str();
    cmd->add_option("--partitions", f->partitions, "Partitions of a created topic")
        ->capture_default_str();
    cmd->add_option("--max-in-flight", f->max_in_flight, "Consumer credits")->capture_default_str();
    cmd->add_option("--max-in-flight-bytes", f->max_in_flight_bytes,
                    "Consumer byte budget: unacked bytes at most (a larger message comes alone); "
                    "0 = the node's default, 8 MiB")
        ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30))
        ->capture_default_str();
    cmd->add_option("--linger-ms", f->linger_ms, "Producer linger")->capture_default_str();
  };
  CLI::App* produce = bench->add_subcommand("produce", "Batched async publish throughput");
  common(produce);
  produce->add_option("-d,--duration", f->duration, "Seconds to run instead of --count");
  produce->add_option("--batch-bytes", f->batch_bytes, "Producer batch size")
      ->capture_default_str();
  produce->add_option("--acks", f->acks, "none | leader | all")->capture_default_str();
  produce->add_option("-P,--producers", f->producers, "Producer threads, one connection each")
      ->capture_default_str();
  produce->add_flag("--sync", f->sync,
                    "One record at a time: each producer waits for every ack (latency is the "
                    "round trip, every record timed)");
  produce->callback([&ctx, &exit_code, f] { exit_code = RunProduce(ctx, *f); });

  CLI::App* consume = bench->add_subcommand(
      "consume", "Consumer-group delivery with per-message acks, from the topic's start");
  common(consume);
  consume->add_option("-C,--consumers", f->consumers, "Group members, one connection each")
      ->capture_default_str();
  consume->add_option("-g,--group", f->group, "Group (default: a new one)");
  consume->callback([&ctx, &exit_code, f] { exit_code = RunConsume(ctx, *f); });

  CLI::App* e2e = bench->add_subcommand(
      "e2e", "End-to-end latency at a fixed publish rate through a consumer group");
  common(e2e);
  e2e->add_option("-r,--rate", f->rate, "Messages per second")->capture_default_str();
  e2e->callback([&ctx, &exit_code, f] { exit_code = RunEndToEnd(ctx, *f); });
}

}  // namespace sprawl::ctl
