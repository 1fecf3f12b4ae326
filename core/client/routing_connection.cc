#include "core/client/routing_connection.h"

#include <algorithm>
#include <future>
#include <limits>
#include <map>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "core/client/publish_fanout.h"
#include "core/protocol/message_type.h"
#include "core/util/clock.h"

namespace sprawl::client {
namespace {

namespace pb = protocol::pb;
using protocol::MessageType;

int64_t NowNanos() { return SystemClock::Instance().MonotonicNanos(); }

// Reads the topic (field 1) and group (field 2) every group request starts
// with, without decoding the rest: a settle request holds an entry per ack,
// which a full parse would copy into unknown fields one allocation each.
// False when the body does not decode that far.
bool ReadGroupHead(const std::string& body, std::string* topic, std::string* group) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(body.data()),
                                               static_cast<int>(body.size()));
  bool have_topic = false;
  bool have_group = false;
  while (!(have_topic && have_group)) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) return input.ConsumedEntireMessage();  // the end: absent fields are empty
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool bytes =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (field == 1 && bytes) {
      if (!WireFormatLite::ReadString(&input, topic)) return false;
      have_topic = true;
    } else if (field == 2 && bytes) {
      if (!WireFormatLite::ReadString(&input, group)) return false;
      have_group = true;
    } else if (!WireFormatLite::SkipField(&input, tag)) {
      return false;
    }
  }
  return true;
}

constexpr uint16_t Type(MessageType type) { return static_cast<uint16_t>(type); }

bool IsNotLeader(const pb::Error& error) {
  return error.code() == static_cast<uint32_t>(ErrorCode::kNotLeader);
}

// A call that failed because the node did not answer, not because it
// refused. A timeout counts only on a request's first hop, which had the
// caller's whole timeout: a later hop gets what is left of it, and running
// out of that says nothing about the node.
bool Unanswered(const Status& status, int hops) {
  return (status.code() == ErrorCode::kTimeout && hops == 0) ||
         status.code() == ErrorCode::kIoError;
}

// What is left of a call's time for its next hop; at least 1 ms, so a hop
// past the deadline fails with TIMEOUT through the connection like any other.
std::chrono::milliseconds Remaining(int64_t deadline_nanos) {
  const int64_t left = (deadline_nanos - NowNanos()) / 1'000'000;
  return std::chrono::milliseconds(std::max<int64_t>(1, left));
}

}  // namespace

// One PUBLISH sent with a reply: its batches split by route, how many
// sub-requests are still unanswered, and the caller's callback.
struct RoutingConnection::PublishCall {
  PublishCall(PublishFanout f, std::string body, Callback d, int64_t deadline)
      : fanout(std::move(f)),
        topic(fanout.topic()),
        original_body(std::move(body)),
        done(std::move(d)),
        deadline_nanos(deadline) {}

  Mutex mu;  // sub-replies arrive on several connections' I/O threads
  PublishFanout fanout GUARDED_BY(mu);
  size_t outstanding GUARDED_BY(mu) = 0;
  // Whether the reply is built from the parts (a split or a hint followed);
  // otherwise the one node's reply is handed on unchanged.
  bool merged GUARDED_BY(mu) = false;
  const std::string topic;
  const std::string original_body;
  const Callback done;
  const int64_t deadline_nanos;
};

// A FETCH, LIST_OFFSETS or group request: one at a time on one node, which
// may hand it on with a hint.
struct RoutingConnection::RoutedCall {
  uint16_t type = 0;
  std::string body;
  Callback done;
  int64_t deadline_nanos = 0;
  int hops = 0;  // only touched by the one callback in flight
  bool group_call = false;
  std::string topic;
  uint32_t partition = 0;  // FETCH and LIST_OFFSETS
  std::string group;       // group calls
};

Result<std::unique_ptr<RoutingConnection>> RoutingConnection::Connect(
    const std::string& bootstrap, transport::ClientOptions options) {
  std::unique_ptr<RoutingConnection> routing(new RoutingConnection(options));
  RoutingConnection* raw = routing.get();
  SPRAWL_ASSIGN_OR_RETURN(routing->pool_,
                          ConnectionPool::Connect(bootstrap, options, [raw](transport::Reply push) {
                            raw->OnPush(std::move(push));
                          }));
  return routing;
}

RoutingConnection::~RoutingConnection() { Close(); }

void RoutingConnection::Close() {
  if (pool_) pool_->Close();  // null only when Connect failed
}

void RoutingConnection::SetPushHandler(std::function<void(transport::Reply)> handler) {
  MutexLock lock(push_mu_);
  push_handler_ = std::move(handler);
}

void RoutingConnection::OnPush(transport::Reply push) {
  std::function<void(transport::Reply)> handler;
  {
    MutexLock lock(push_mu_);
    handler = push_handler_;
  }
  if (handler) handler(std::move(push));
}

int64_t RoutingConnection::DeadlineFor(std::chrono::milliseconds timeout) const {
  if (timeout.count() <= 0) timeout = options_.request_timeout;
  return NowNanos() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
}

std::string RoutingConnection::RouteOf(const std::string& topic, uint32_t partition) const {
  MutexLock lock(mu_);
  return routes_.Leader(topic, partition);
}

uint64_t RoutingConnection::refreshes() const {
  MutexLock lock(mu_);
  return refreshes_;
}

Result<transport::Reply> RoutingConnection::Call(uint16_t type, std::string body,
                                                 std::vector<std::string> batches,
                                                 std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<transport::Reply>>>();
  auto future = promise->get_future();
  CallAsync(
      type, std::move(body), std::move(batches),
      [promise](Result<transport::Reply> r) { promise->set_value(std::move(r)); }, timeout);
  return future.get();
}

void RoutingConnection::CallAsync(uint16_t type, std::string body, std::vector<std::string> batches,
                                  Callback done, std::chrono::milliseconds timeout) {
  auto call = std::make_shared<RoutedCall>();
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPublish:
      StartPublish(std::move(body), std::move(batches), std::move(done), DeadlineFor(timeout));
      return;
    case MessageType::kFetch: {
      pb::FetchRequest request;
      if (!batches.empty() || !request.ParseFromString(body)) break;  // the node refuses it
      call->topic = request.topic();
      call->partition = request.partition();
      break;
    }
    case MessageType::kListOffsets: {
      pb::ListOffsetsRequest request;
      if (!batches.empty() || !request.ParseFromString(body)) break;
      call->topic = request.topic();
      call->partition = request.partition();
      break;
    }
    case MessageType::kTransferLeader: {
      pb::TransferLeaderRequest request;
      if (!batches.empty() || !request.ParseFromString(body)) break;
      call->topic = request.topic();
      call->partition = request.partition();
      break;
    }
    case MessageType::kJoinGroup:
    case MessageType::kHeartbeat:
    case MessageType::kSettle:
    case MessageType::kLeaveGroup: {
      if (!batches.empty() || !ReadGroupHead(body, &call->topic, &call->group)) break;
      call->group_call = true;
      break;
    }
    case MessageType::kMetadata:
      // Whoever asks, the answer also refreshes the routes.
      pool_->bootstrap().CallAsync(
          type, std::move(body), std::move(batches),
          [this, done = std::move(done)](Result<transport::Reply> reply) {
            pb::MetadataResponse metadata;
            if (reply.ok() && !reply->error && metadata.ParseFromString(reply->body)) {
              MutexLock lock(mu_);
              routes_.Learn(metadata);
              RememberNodes(metadata);
            }
            done(std::move(reply));
          },
          timeout);
      return;
    default:
      break;
  }
  if (call->topic.empty()) {
    // Admin calls, and requests that do not decode (the node answers those).
    pool_->bootstrap().CallAsync(type, std::move(body), std::move(batches), std::move(done),
                                 timeout);
    return;
  }
  Discover(call->topic);
  call->type = type;
  call->body = std::move(body);
  call->done = std::move(done);
  call->deadline_nanos = DeadlineFor(timeout);
  std::string address;
  {
    MutexLock lock(mu_);
    address = call->group_call ? routes_.Group(call->topic, call->group)
                               : routes_.Leader(call->topic, call->partition);
  }
  DispatchRouted(call, address);
}

void RoutingConnection::DispatchRouted(const std::shared_ptr<RoutedCall>& call,
                                       const std::string& route) {
  const std::string address = route.empty() ? Unrouted() : route;
  transport::ClientConnection* connection = pool_->Get(address);
  if (connection == nullptr) {
    call->done(Status(ErrorCode::kClosed, "the client is closed"));
    return;
  }
  connection->CallAsync(
      call->type, call->body, {},
      [this, call, address](Result<transport::Reply> reply) {
        OnRoutedReply(call, address, std::move(reply));
      },
      Remaining(call->deadline_nanos));
}

void RoutingConnection::OnRoutedReply(const std::shared_ptr<RoutedCall>& call,
                                      const std::string& address, Result<transport::Reply> reply) {
  if (!reply.ok()) {
    if (Unanswered(reply.status(), call->hops)) OnConnectionFailure(address, call->topic);
    call->done(std::move(reply));
    return;
  }
  if (reply->error && IsNotLeader(*reply->error)) {
    const std::string hint = reply->error->leader_hint();
    const bool follow =
        !hint.empty() && hint != address && call->hops < kMaxHops && pool_->Get(hint) != nullptr;
    {
      MutexLock lock(mu_);
      if (call->group_call) {
        if (follow) {
          routes_.SetGroup(call->topic, call->group, hint);
        } else {
          routes_.DropGroup(call->topic, call->group);
        }
      } else if (follow) {
        routes_.SetLeader(call->topic, call->partition, hint);
      } else {
        routes_.DropLeader(call->topic, call->partition);
      }
    }
    // A hint is fresher than any METADATA answer: only a leader nobody
    // names is looked up.
    if (!follow && !call->group_call) RequestRefresh(call->topic);
    if (follow) {
      ++call->hops;
      DispatchRouted(call, hint);
      return;
    }
  } else if (!reply->error && call->type == Type(MessageType::kJoinGroup)) {
    // The member is bound to this connection: its heartbeats, settles and
    // leave must come here too, and its deliveries arrive here.
    MutexLock lock(mu_);
    routes_.SetGroup(call->topic, call->group, address);
  }
  call->done(std::move(reply));
}

void RoutingConnection::StartPublish(std::string body, std::vector<std::string> batches,
                                     Callback done, int64_t deadline) {
  std::optional<PublishFanout> fanout = PublishFanout::Decode(body, batches);
  if (!fanout) {
    pool_->bootstrap().CallAsync(Type(MessageType::kPublish), std::move(body), std::move(batches),
                                 std::move(done), Remaining(deadline));
    return;
  }
  Discover(fanout->topic());
  // The batches grouped by the node that leads their partition, in the
  // order the nodes first appear ("" = the bootstrap node).
  std::vector<std::pair<std::string, std::vector<size_t>>> groups;
  {
    MutexLock lock(mu_);
    for (size_t i = 0; i < fanout->size(); ++i) {
      std::string address = routes_.Leader(fanout->topic(), fanout->partition(i));
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& g) { return g.first == address; });
      if (it == groups.end()) {
        groups.emplace_back(std::move(address), std::vector<size_t>{i});
      } else {
        it->second.push_back(i);
      }
    }
  }
  auto call =
      std::make_shared<PublishCall>(std::move(*fanout), std::move(body), std::move(done), deadline);
  {
    MutexLock lock(call->mu);
    call->outstanding = groups.size();
    call->merged = groups.size() > 1;
  }
  if (groups.empty()) {  // a request without batches: the node answers it
    groups.emplace_back(std::string(), std::vector<size_t>{});
    MutexLock lock(call->mu);
    call->outstanding = 1;
  }
  for (auto& [address, indexes] : groups) DispatchPublish(call, std::move(indexes), address, 0);
}

void RoutingConnection::DispatchPublish(const std::shared_ptr<PublishCall>& call,
                                        std::vector<size_t> indexes, const std::string& route,
                                        int hops) {
  const std::string address = route.empty() ? Unrouted() : route;
  std::string body;
  std::vector<std::string> frames;
  {
    MutexLock lock(call->mu);
    // Copies of the frames: a batch answered NOT_LEADER is sent again.
    body = call->merged ? call->fanout.Body(indexes) : call->original_body;
    frames = call->fanout.CopyFrames(indexes);
  }
  transport::ClientConnection* connection = pool_->Get(address);
  if (connection == nullptr) {
    OnPublishReply(call, indexes, address, hops,
                   Status(ErrorCode::kClosed, "the client is closed"));
    return;
  }
  connection->CallAsync(
      Type(MessageType::kPublish), std::move(body), std::move(frames),
      [this, call, indexes, address, hops](Result<transport::Reply> reply) {
        OnPublishReply(call, indexes, address, hops, std::move(reply));
      },
      Remaining(call->deadline_nanos));
}

void RoutingConnection::OnPublishReply(const std::shared_ptr<PublishCall>& call,
                                       const std::vector<size_t>& indexes,
                                       const std::string& address, int hops,
                                       Result<transport::Reply> reply) {
  Status failure = reply.ok() ? reply->status() : reply.status();
  if (!reply.ok() && Unanswered(failure, hops)) OnConnectionFailure(address, call->topic);
  auto can_follow = [&](const std::string& hint) {
    return !hint.empty() && hint != address && hops < kMaxHops && pool_->Get(hint) != nullptr;
  };
  pb::PublishResponse response;
  if (failure.ok()) {
    if (!response.ParseFromString(reply->body)) {
      failure = DataCorruption("the publish reply from " + address + " does not decode");
    } else if (response.results_size() != static_cast<int>(indexes.size())) {
      failure = DataCorruption("the publish reply from " + address + " has " +
                               std::to_string(response.results_size()) + " results for " +
                               std::to_string(indexes.size()) + " batches");
    }
  }
  // hint -> the batches re-sent there; and partitions whose leader is unknown.
  std::map<std::string, std::vector<size_t>> follow;
  std::vector<std::pair<uint32_t, std::string>> learned;  // partition -> its new route
  bool leaderless = false;                                // a NOT_LEADER without a hint to follow
  std::optional<Result<transport::Reply>> complete;
  {
    MutexLock lock(call->mu);
    if (failure.ok()) {
      for (size_t k = 0; k < indexes.size(); ++k) {
        pb::PublishResult* result = response.mutable_results(static_cast<int>(k));
        const size_t i = indexes[k];
        if (result->has_error() && IsNotLeader(result->error())) {
          const std::string& hint = result->error().leader_hint();
          if (can_follow(hint)) {
            follow[hint].push_back(i);
            learned.emplace_back(call->fanout.partition(i), hint);
            continue;
          }
          leaderless = true;
          learned.emplace_back(call->fanout.partition(i), std::string());
        }
        call->fanout.SetResult(i, std::move(*result));
      }
    } else if (reply.ok() && reply->error && IsNotLeader(*reply->error)) {
      // The whole request refused (a node that holds none of it).
      const std::string& hint = reply->error->leader_hint();
      leaderless = !can_follow(hint);
      for (size_t i : indexes) {
        learned.emplace_back(call->fanout.partition(i), can_follow(hint) ? hint : std::string());
      }
      if (can_follow(hint)) {
        follow[hint] = indexes;
      } else {
        for (size_t i : indexes) call->fanout.SetError(i, failure);
      }
    } else {
      for (size_t i : indexes) call->fanout.SetError(i, failure);
    }
    const bool passthrough = !call->merged && hops == 0 && follow.empty();
    if (!follow.empty()) call->merged = true;
    call->outstanding += follow.size();
    --call->outstanding;
    if (passthrough) {
      complete = std::move(reply);  // the one node's reply (or failure), unchanged
    } else if (call->outstanding == 0) {
      transport::Reply merged;
      merged.header.type = Type(MessageType::kPublish);
      merged.header.flags = transport::kFlagResponse;
      merged.body = call->fanout.MergedBody();
      complete = std::move(merged);
    }
  }
  if (!learned.empty()) {
    MutexLock lock(mu_);
    for (auto& [partition, route] : learned) {
      if (route.empty()) {
        routes_.DropLeader(call->topic, partition);
      } else {
        routes_.SetLeader(call->topic, partition, std::move(route));
      }
    }
  }
  // A hint is fresher than any METADATA answer: only leaders nobody names
  // are looked up (the producer retries those batches meanwhile).
  if (leaderless) RequestRefresh(call->topic);
  for (auto& [hint, batches] : follow) DispatchPublish(call, std::move(batches), hint, hops + 1);
  if (complete) call->done(std::move(*complete));
}

void RoutingConnection::Send(uint16_t type, std::string body, std::vector<std::string> batches) {
  if (type != Type(MessageType::kPublish)) {
    pool_->bootstrap().Send(type, std::move(body), std::move(batches));
    return;
  }
  SendPublish(std::move(body), std::move(batches));
}

void RoutingConnection::SendPublish(std::string body, std::vector<std::string> batches) {
  std::optional<PublishFanout> fanout = PublishFanout::Decode(body, batches);
  if (!fanout) {
    pool_->bootstrap().Send(Type(MessageType::kPublish), std::move(body), std::move(batches));
    return;
  }
  std::map<std::string, std::vector<size_t>> groups;
  {
    MutexLock lock(mu_);
    for (size_t i = 0; i < fanout->size(); ++i) {
      groups[routes_.Leader(fanout->topic(), fanout->partition(i))].push_back(i);
    }
  }
  // Without a reply there is no hint to follow: a batch sent to a node that
  // does not lead its partition is lost, as acks=none allows.
  for (auto& [address, indexes] : groups) {
    transport::ClientConnection* connection = pool_->Get(address);
    if (connection == nullptr) continue;  // closed
    std::string sub = groups.size() == 1 ? std::move(body) : fanout->Body(indexes);
    connection->Send(Type(MessageType::kPublish), std::move(sub), fanout->TakeFrames(indexes));
  }
}

std::vector<std::string> RoutingConnection::KnownNodes() const {
  MutexLock lock(mu_);
  return {known_nodes_.begin(), known_nodes_.end()};
}

void RoutingConnection::Discover(const std::string& topic) {
  {
    MutexLock lock(mu_);
    if (topic.empty() || !discovered_topics_.insert(topic).second) return;
  }
  pb::MetadataRequest request;
  request.add_topics(topic);
  // Only the nodes are taken from the answer, not the routes: on a lone node
  // a route would name the address the node advertises, which a client
  // outside may not reach (a node bound to 0.0.0.0); routes come from
  // NOT_LEADER hints and the refreshes they start.
  pool_->bootstrap().CallAsync(
      Type(MessageType::kMetadata), request.SerializeAsString(), {},
      [this](Result<transport::Reply> reply) {
        pb::MetadataResponse metadata;
        if (!reply.ok() || reply->error || !metadata.ParseFromString(reply->body)) {
          return;
        }
        MutexLock lock(mu_);
        RememberNodes(metadata);
      });
}

void RoutingConnection::RememberNodes(const pb::MetadataResponse& metadata) {
  for (const pb::TopicMetadata& topic : metadata.topics()) {
    for (const pb::PartitionMetadata& p : topic.partitions()) {
      // Only the nodes of replicated partitions: an unplaced one names the
      // answering node's own advertised address.
      if (p.replica_ids_size() < 2) continue;
      for (const std::string& address : p.replica_addresses()) {
        if (!address.empty() && known_nodes_.size() < kMaxKnownNodes) {
          known_nodes_.insert(address);
        }
      }
    }
  }
}

void RoutingConnection::OnConnectionFailure(const std::string& address, const std::string& topic) {
  {
    MutexLock lock(mu_);
    unanswered_at_[address] = NowNanos();
    for (std::string& routed : routes_.DropAddress(address)) {
      refresh_topics_.insert(std::move(routed));
    }
  }
  // The request's own topic too: it had no route (it went to the bootstrap
  // node), and that node may be the one that is gone.
  RequestRefresh(topic);
}

std::string RoutingConnection::Unrouted() {
  const std::string bootstrap = pool_->bootstrap_address();
  const int64_t now = NowNanos();
  MutexLock lock(mu_);
  auto recently_unanswered = [&](const std::string& address) REQUIRES(mu_) {
    auto failed = unanswered_at_.find(address);
    return failed != unanswered_at_.end() && now - failed->second <= kUnansweredShunnedNanos;
  };
  if (!recently_unanswered(bootstrap)) return bootstrap;
  for (const std::string& known : known_nodes_) {
    if (!recently_unanswered(known)) return known;
  }
  return bootstrap;
}

void RoutingConnection::RequestRefresh(const std::string& topic) {
  std::vector<std::string> addresses = pool_->Addresses();
  pb::MetadataRequest request;
  std::string target;
  {
    MutexLock lock(mu_);
    if (!topic.empty()) refresh_topics_.insert(topic);
    if (refresh_topics_.empty()) return;  // nothing is routed: nothing to refresh
    const int64_t now = NowNanos();
    if (refresh_in_flight_ ||
        now - last_refresh_nanos_ <
            std::chrono::duration_cast<std::chrono::nanoseconds>(kMinRefreshInterval).count()) {
      return;
    }
    refresh_in_flight_ = true;
    last_refresh_nanos_ = now;
    for (const std::string& t : refresh_topics_) request.add_topics(t);
    // Every node this client knows of can answer, not only those it has
    // connections to: a client whose one node died asks the others.
    for (const std::string& known : known_nodes_) {
      if (std::find(addresses.begin(), addresses.end(), known) == addresses.end()) {
        addresses.push_back(known);
      }
    }
    // The next node in turn that has not just left a request unanswered
    // (all of them, if every one has).
    const size_t n = addresses.size();
    size_t pick = refresh_target_ % n;
    for (size_t i = 0; i < n; ++i) {
      auto failed = unanswered_at_.find(addresses[(refresh_target_ + i) % n]);
      if (failed == unanswered_at_.end() || now - failed->second > kUnansweredShunnedNanos) {
        pick = (refresh_target_ + i) % n;
        break;
      }
    }
    target = addresses[pick];
  }
  transport::ClientConnection* connection = pool_->Get(target);
  if (connection == nullptr) {
    MutexLock lock(mu_);
    refresh_in_flight_ = false;
    return;
  }
  connection->CallAsync(
      Type(MessageType::kMetadata), request.SerializeAsString(), {},
      [this, target](Result<transport::Reply> reply) { OnRefreshReply(target, std::move(reply)); });
}

bool RoutingConnection::NamesNoLeader(const pb::MetadataResponse& metadata) {
  for (const pb::TopicMetadata& topic : metadata.topics()) {
    for (const pb::PartitionMetadata& p : topic.partitions()) {
      if (p.leader_address().empty()) return true;
    }
  }
  return false;
}

void RoutingConnection::OnRefreshReply(const std::string& target, Result<transport::Reply> reply) {
  pb::MetadataResponse metadata;
  const bool ok = reply.ok() && !reply->error && metadata.ParseFromString(reply->body);
  MutexLock lock(mu_);
  refresh_in_flight_ = false;
  if (ok) {
    unanswered_at_.erase(target);
    routes_.Learn(metadata);
    RememberNodes(metadata);
    ++refreshes_;
    // A node that answers but knows no leader for a partition asked about
    // (one cut off from its peers, or between elections) is asked again
    // only after the others: asking it alone, a client whose one node is cut
    // off would never find the leader the rest of the cluster elected.
    if (NamesNoLeader(metadata)) ++refresh_target_;
    return;
  }
  // Ask another node next time: this one is down or does not answer METADATA.
  ++refresh_target_;
  if (!reply.ok() && Unanswered(reply.status(), 0)) {
    unanswered_at_[target] = NowNanos();
    for (std::string& topic : routes_.DropAddress(target)) refresh_topics_.insert(std::move(topic));
  }
}

}  // namespace sprawl::client
