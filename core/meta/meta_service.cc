#include "core/meta/meta_service.h"

#include "core/storage/producer_identity.h"

#include <algorithm>
#include <cstdio>

#include "core/meta/replica_replacement.h"
#include "core/util/logging.h"

namespace sprawl::meta {
namespace {

using replication::ConfState;
using replication::NodeId;

constexpr std::string_view kIdPrefix = "meta/topic-id/";
constexpr int64_t kTickNs = 100'000'000;  // bootstrap checks, timeouts, membership

const char* RoleName(replication::Role r) {
  switch (r) {
    case replication::Role::kLeader:
      return "leader";
    case replication::Role::kCandidate:
      return "candidate";
    case replication::Role::kPreCandidate:
      return "pre-candidate";
    case replication::Role::kFollower:
      return "follower";
  }
  return "unknown";
}

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

MetaService::MetaService(MetaServiceOptions options, replication::RaftHost& host,
                         replication::RaftStorage& raft_storage, broker::Broker& broker,
                         storage::Store& store, const Clock& clock, Post post, LiveMembers live,
                         Forward forward)
    : options_(std::move(options)),
      host_(host),
      raft_storage_(raft_storage),
      broker_(broker),
      store_(store),
      clock_(clock),
      post_(std::move(post)),
      live_(std::move(live)),
      forward_(std::move(forward)),
      self_(replication::RaftNodeId(options_.node_id)) {
  names_[self_] = options_.node_id;
}

MetaService::~MetaService() { *alive_ = false; }

Status MetaService::Start() {
  SPRAWL_ASSIGN_OR_RETURN(auto ids, store_.ScanRecords(kIdPrefix));
  for (auto& [key, id] : ids) local_ids_[key.substr(kIdPrefix.size())] = std::move(id);
  host_.SetApply(
      [this](replication::GroupId group, const replication::Entry& entry) {
        if (group == kGroup) Apply(group, entry);
      },
      nullptr);
  SPRAWL_ASSIGN_OR_RETURN(auto stored, raft_storage_.Load(kGroup));
  if (stored.has_value()) {
    OpenGroup({});  // the stored membership wins
  } else if (options_.bootstrap_expect == 0) {
    OpenGroup({});  // waits to be added by the leader
  } else {
    MaybeBootstrap();
  }
  next_tick_ns_ = clock_.MonotonicNanos() + kTickNs;
  return Status::Ok();
}

void MetaService::OpenGroup(const ConfState& initial) {
  // Never quiesced: its heartbeats (one per follower per tick) are cheap,
  // and a follower then notices a dead leader by its own election timeout
  // rather than waiting for the membership to declare the leader dead.
  Status s = host_.OpenGroup(kGroup, initial, /*quiesce=*/false);
  if (!s.ok()) {
    log::Error("the metadata group could not be opened", {{"error", s.ToString()}});
    return;
  }
  open_ = true;
}

void MetaService::MaybeBootstrap() {
  std::vector<std::string> live = live_();
  if (live.size() < options_.bootstrap_expect) return;
  std::sort(live.begin(), live.end());
  live.resize(std::min<size_t>({live.size(), options_.bootstrap_expect, kMaxVoters}));
  ConfState conf;
  std::string list;
  for (const std::string& id : live) {
    conf.voters.push_back(replication::RaftNodeId(id));
    list += (list.empty() ? "" : ",") + id;
  }
  std::sort(conf.voters.begin(), conf.voters.end());
  const bool voter = Contains(conf.voters, self_);
  log::Info("forming the metadata group", {{"voters", list}, {"voter", voter ? "yes" : "no"}});
  OpenGroup(voter ? conf : ConfState{});
}

void MetaService::Tick() {
  const int64_t now = clock_.MonotonicNanos();
  next_tick_ns_ = now + kTickNs;
  for (const std::string& id : live_()) names_[replication::RaftNodeId(id)] = id;
  if (!open_) MaybeBootstrap();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_ns > now) {
      ++it;
      continue;
    }
    auto finish = std::move(it->second.finish);
    it = pending_.erase(it);
    finish(Timeout("the metadata group did not apply the change within " +
                   std::to_string(options_.request_timeout.count()) +
                   " ms (no leader reachable?); it may still apply: check before retrying"));
  }
  if (open_) {
    Resend();
    ManageMembership();
    // About once a second: the placement is computed for every partition.
    if (++ticks_ % 10 == 0) ReplaceGone();
  }
}

void MetaService::ReplaceGone() {
  if (!gone_ || !place_ || !Leads()) return;
  const std::vector<std::string> listed = gone_(options_.replace_after);
  if (listed.empty()) return;
  const std::set<std::string, std::less<>> gone(listed.begin(), listed.end());
  for (const auto& entry : state_.topics()) {
    // Named, not a structured binding: lambdas capture it (clang refuses).
    const std::string& name = entry.first;
    const MetaTopic& topic = entry.second;
    if (moving_.count(name) > 0) continue;
    auto moved = ReplaceGoneReplicas(topic, gone, [this, &name](uint32_t p) {
      auto ranked = place_(name, p, p + 1, kMaxAssignedReplicas);
      return ranked.empty() ? std::vector<std::string>{} : ranked[0];
    });
    if (!moved) continue;
    std::string members;
    for (const std::string& id : listed) members += (members.empty() ? "" : ",") + id;
    log::Info("replacing the partition replicas of gone members",
              {{"topic", name}, {"gone", members}});
    MetaCommand command;
    command.kind = MetaCommand::Kind::kMove;
    command.request_id = NewRequestId();
    command.topic = name;
    command.topic_id = topic.topic_id;
    command.assignment = std::move(*moved);
    moving_.insert(name);
    Submit(std::move(command), [this, alive = alive_, name](Status s) {
      if (!*alive) return;
      moving_.erase(name);
      if (!s.ok()) {
        log::Warn("replica replacement not applied", {{"topic", name}, {"error", s.ToString()}});
      }
    });
  }
}

void MetaService::ManageMembership() {
  const replication::Raft* r = host_.group(kGroup);
  if (r == nullptr || r->role() != replication::Role::kLeader) return;
  const ConfState& conf = r->conf();
  // A member gone past replace_after leaves the group: while it stays a
  // voter it counts in the majority without answering, so two more losses
  // of five (one more of three or four) would stop topic administration.
  // Should it return, it joins again as a learner below.
  if (gone_) {
    for (const std::string& id : gone_(options_.replace_after)) {
      const NodeId node = replication::RaftNodeId(id);
      if (node == self_ || !(Contains(conf.voters, node) || Contains(conf.learners, node))) {
        continue;
      }
      if (host_.ProposeConfChange(kGroup, replication::ConfChangeType::kRemove, node).ok()) {
        log::Info("metadata group: removing a gone member", {{"member", id}});
      }
      return;
    }
  }
  for (const std::string& id : live_()) {
    const NodeId node = replication::RaftNodeId(id);
    if (Contains(conf.voters, node) || Contains(conf.learners, node)) continue;
    // One change at a time: the group refuses a second until the first commits.
    if (host_.ProposeConfChange(kGroup, replication::ConfChangeType::kAddLearner, node).ok()) {
      log::Info("metadata group: adding a learner", {{"member", id}});
    }
    return;
  }
  if (conf.voters.size() >= kMaxVoters) return;
  for (NodeId learner : conf.learners) {
    auto pr = r->progress().find(learner);
    if (pr == r->progress().end() || pr->second.match() < r->commit()) continue;
    if (host_.ProposeConfChange(kGroup, replication::ConfChangeType::kPromote, learner).ok()) {
      log::Info("metadata group: promoting a learner", {{"member", MemberName(learner)}});
    }
    return;
  }
}

// Unique across restarts too (the state machine skips a request id it
// applied before): the node id, a number drawn at start, a counter.
std::string MetaService::NewRequestId() {
  if (incarnation_.empty()) {
    char nonce[17];
    std::snprintf(nonce, sizeof nonce, "%016llx", static_cast<unsigned long long>(rng_()));
    incarnation_ = nonce;
  }
  return options_.node_id + "/" + incarnation_ + "/" + std::to_string(++next_request_);
}

void MetaService::Submit(MetaCommand command, std::function<void(Status)> finish) {
  const replication::Raft* r = open_ ? host_.group(kGroup) : nullptr;
  if (r == nullptr) {
    return finish(
        Status(ErrorCode::kRetryAfter, "the metadata group is not formed yet: waiting for " +
                                           std::to_string(options_.bootstrap_expect) +
                                           " members (--bootstrap-expect)"));
  }
  // Without a leader (an election, or this node not yet admitted) the
  // command waits for one, up to the request timeout.
  Pending& p = pending_[command.request_id];
  p.finish = std::move(finish);
  p.deadline_ns =
      clock_.MonotonicNanos() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.request_timeout).count();
  p.encoded = EncodeMetaCommand(command);
  if (r->leader() != replication::kNoNode) SendTo(r->leader(), p);
}

void MetaService::SendTo(NodeId leader, Pending& p) {
  p.sent_to = leader;
  p.sent_ns = clock_.MonotonicNanos();
  if (leader != self_) return forward_(leader, p.encoded);
  auto proposed = host_.Propose(kGroup, p.encoded);
  if (!proposed.ok()) {
    // Lost the lead in between: the next Resend goes to the new leader.
    p.sent_to = replication::kNoNode;
  }
}

// A command forwarded to a leader that died or lost the lead may be lost,
// and so may one the peer port dropped: it goes again to the new leader, or
// to the same one after kResendNs. One that did commit before applies only
// once: MetaState skips a request id it applied already.
void MetaService::Resend() {
  constexpr int64_t kResendNs = 1'000'000'000;
  const replication::Raft* r = open_ ? host_.group(kGroup) : nullptr;
  if (r == nullptr || r->leader() == replication::kNoNode) return;
  const int64_t now = clock_.MonotonicNanos();
  for (auto& [id, p] : pending_) {
    if (p.sent_to != r->leader() || now - p.sent_ns >= kResendNs) SendTo(r->leader(), p);
  }
}

void MetaService::OnForward(std::string_view body) {
  auto command = DecodeMetaCommand(body);
  if (!command.ok()) {
    log::Debug("forwarded metadata command rejected", {{"error", command.status().ToString()}});
    return;
  }
  const replication::Raft* r = open_ ? host_.group(kGroup) : nullptr;
  if (r == nullptr || r->role() != replication::Role::kLeader) return;
  auto proposed = host_.Propose(kGroup, std::string(body));
  if (!proposed.ok()) {
    log::Debug("forwarded metadata command not proposed",
               {{"error", proposed.status().ToString()}});
  }
}

void MetaService::CreateTopic(const pb::CreateTopicRequest& request,
                              broker::Broker::TopicDone done) {
  pb::TopicConfig asked = request.config();
  const size_t live = std::max<size_t>(1, live_().size());
  if (!asked.has_replication_factor()) {
    asked.set_replication_factor(static_cast<uint32_t>(std::min<size_t>(3, live)));
  }
  auto config = broker::ConfigForCreate(request.name(), asked);
  if (!config.ok()) return done(config.status());
  if (config->replication_factor > live) {
    return done(InvalidArgument("topic '" + request.name() + "': replication_factor " +
                                std::to_string(config->replication_factor) + " exceeds the " +
                                std::to_string(live) + " live nodes of the cluster"));
  }
  MetaCommand command;
  command.kind = MetaCommand::Kind::kCreate;
  command.request_id = NewRequestId();
  command.topic = request.name();
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  command.topic_id = id;
  command.config = broker::EncodeTopicConfig(*config);
  if (place_) {
    command.assignment = place_(request.name(), 0, config->partitions, config->replication_factor);
    if (command.assignment.size() != config->partitions) command.assignment.clear();
  }
  const std::string topic = request.name();
  Submit(std::move(command), [this, done, topic](Status s) {
    if (!s.ok()) return done(s);
    done(DescribeApplied(topic));
  });
}

void MetaService::InitProducer(const pb::InitProducerRequest& request,
                               std::function<void(Result<pb::InitProducerResponse>)> done) {
  if (request.name().empty() || request.name().size() > storage::kMaxProducerNameBytes) {
    return done(InvalidArgument("a producer name must have 1 to " +
                                std::to_string(storage::kMaxProducerNameBytes) + " bytes"));
  }
  MetaCommand command;
  command.kind = MetaCommand::Kind::kInitProducer;
  command.request_id = NewRequestId();
  command.topic = request.name();
  const std::string name = request.name();
  // Answered as the command applies (Apply), before any later command can
  // raise the epoch again.
  Submit(std::move(command), [this, done, name](Status s) {
    if (!s.ok()) return done(s);
    pb::InitProducerResponse out;
    out.set_producer_family(storage::NamedProducerFamily(name));
    out.set_epoch(state_.ProducerEpoch(name));
    done(out);
  });
}

Result<pb::TopicDescription> MetaService::DescribeApplied(const std::string& topic) const {
  pb::DescribeTopicRequest describe;
  describe.set_name(topic);
  auto described = broker_.DescribeTopic(describe);
  if (described.ok()) Decorate(&*described);
  return described;
}

void MetaService::AlterTopic(const pb::AlterTopicRequest& request, broker::Broker::TopicDone done) {
  Status name = storage::Store::ValidateTopicName(request.name());
  if (!name.ok()) return done(name);
  MetaCommand command;
  command.kind = MetaCommand::Kind::kAlter;
  command.request_id = NewRequestId();
  command.topic = request.name();
  // Unknown fields travel along and are refused where the change applies.
  command.config = request.config().SerializeAsString();
  const MetaTopic* current = state_.Find(request.name());
  if (place_ && current != nullptr && !current->assignment.empty()) {
    const pb::TopicConfig& patch = request.config();
    const uint32_t factor = patch.has_replication_factor() ? patch.replication_factor()
                                                           : current->config.replication_factor;
    const bool refactor = factor != current->config.replication_factor && factor >= 1 &&
                          factor <= meta::kMaxAssignedReplicas;
    const bool grows = patch.has_partitions() && patch.partitions() > current->assignment.size();
    if (refactor) {
      auto resized = ResizeReplicaSets(request.name(), *current, factor);
      if (!resized.ok()) return done(resized.status());
      command.assignment = std::move(*resized);
    } else if (grows) {
      command.assignment = current->assignment;
    }
    if (grows) {
      // New partitions are placed here, over the members live now.
      auto added = place_(request.name(), static_cast<uint32_t>(current->assignment.size()),
                          patch.partitions(), factor);
      for (auto& replicas : added) command.assignment.push_back(std::move(replicas));
    }
  }
  const std::string topic = request.name();
  Submit(std::move(command), [this, done, topic](Status s) {
    if (!s.ok()) return done(s);
    done(DescribeApplied(topic));
  });
}

Result<std::vector<std::vector<std::string>>> MetaService::ResizeReplicaSets(
    const std::string& topic, const MetaTopic& current, uint32_t factor) const {
  std::vector<std::vector<std::string>> out = current.assignment;
  for (uint32_t p = 0; p < out.size(); ++p) {
    std::vector<std::string>& replicas = out[p];
    if (replicas.size() > factor) {
      // The first replicas stay: the preferred leader keeps its place.
      replicas.resize(factor);
      continue;
    }
    // Members join in the partition's placement order over the live
    // members, so the replicas added are those placement would pick.
    const auto ranked = place_(topic, p, p + 1, kMaxAssignedReplicas);
    for (const std::string& member : ranked.empty() ? std::vector<std::string>{} : ranked[0]) {
      if (replicas.size() == factor) break;
      if (std::find(replicas.begin(), replicas.end(), member) == replicas.end()) {
        replicas.push_back(member);
      }
    }
    if (replicas.size() < factor) {
      return InvalidArgument("topic '" + topic + "': a replication factor of " +
                             std::to_string(factor) + " needs " + std::to_string(factor) +
                             " live members; partition " + std::to_string(p) + " can use " +
                             std::to_string(replicas.size()));
    }
  }
  return out;
}

void MetaService::DeleteTopic(const pb::DeleteTopicRequest& request,
                              std::function<void(Status)> done) {
  Status name = storage::Store::ValidateTopicName(request.name());
  if (!name.ok()) return done(name);
  MetaCommand command;
  command.kind = MetaCommand::Kind::kDelete;
  command.request_id = NewRequestId();
  command.topic = request.name();
  Submit(std::move(command), std::move(done));
}

void MetaService::Apply(replication::GroupId, const replication::Entry& entry) {
  if (entry.type != replication::EntryType::kNormal) return;
  auto command = DecodeMetaCommand(entry.data);
  if (!command.ok()) {
    // Every node skips the same entry, so they stay in step.
    log::Error("metadata entry does not decode; skipped",
               {{"index", std::to_string(entry.index)}, {"error", command.status().ToString()}});
    return;
  }
  Status outcome = state_.Apply(*command);
  if (command->kind == MetaCommand::Kind::kInitProducer) {
    // No topic to bring in line: the asking node answers now.
    auto it = pending_.find(command->request_id);
    if (it != pending_.end()) {
      auto finish = std::move(it->second.finish);
      pending_.erase(it);
      finish(outcome);
    }
    return;
  }
  if (outcome.ok() && placement_listener_.changed) {
    placement_listener_.changed(command->topic, state_.Find(command->topic));
  }
  work_.push_back({command->topic, command->request_id, std::move(outcome)});
  Pump();
}

void MetaService::Pump() {
  if (working_ || work_.empty()) return;
  working_ = true;
  Reconcile(work_.front().topic, [this, alive = alive_](Status local) {
    if (!*alive) return;
    working_ = false;
    Work w = std::move(work_.front());
    work_.pop_front();
    if (!local.ok()) {
      log::Error("topic could not be brought in line with the cluster metadata",
                 {{"topic", w.topic}, {"error", local.ToString()}});
    } else if (placement_listener_.reconciled) {
      placement_listener_.reconciled(w.topic);
    }
    auto it = pending_.find(w.request_id);
    if (it != pending_.end()) {
      auto finish = std::move(it->second.finish);
      pending_.erase(it);
      finish(w.outcome.ok() ? local : w.outcome);
    }
    Pump();
  });
}

// Makes this node's broker hold `topic` as the metadata says now (not as it
// said when the command applied: a restarted node replaying its log goes
// straight to the final state, never through a topic's earlier incarnations).
void MetaService::Reconcile(const std::string& topic, std::function<void(Status)> then) {
  const MetaTopic* desired = state_.Find(topic);
  auto local = broker_.topics().Find(topic);
  auto id_it = local_ids_.find(topic);
  const std::string local_id = id_it == local_ids_.end() ? std::string() : id_it->second;
  pb::DeleteTopicRequest remove;
  remove.set_name(topic);
  if (desired == nullptr) {
    // A topic without an id predates the cluster's metadata: left alone.
    if (!local.ok() || local_id.empty()) {
      if (!local.ok() && !local_id.empty()) return RecordId(topic, "", std::move(then));
      return then(Status::Ok());
    }
    return broker_.DeleteTopic(remove, [this, topic, then](Status s) {
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return then(s);
      RecordId(topic, "", then);
    });
  }
  const MetaTopic want = *desired;
  if (!local.ok()) return CreateLocal(want, topic, std::move(then));
  if (!local_id.empty() && local_id != want.topic_id) {
    // An older incarnation of the name: its data goes with it.
    return broker_.DeleteTopic(remove, [this, want, topic, then](Status s) {
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return then(s);
      CreateLocal(want, topic, then);
    });
  }
  if ((*local)->config != want.config) {
    pb::AlterTopicRequest alter;
    alter.set_name(topic);
    *alter.mutable_config() = broker::ToProto(want.config);
    return broker_.AlterTopic(
        alter, [this, topic, id = want.topic_id, then](Result<pb::TopicDescription> altered) {
          if (!altered.ok()) return then(altered.status());
          RecordId(topic, id, then);
        });
  }
  if (local_id != want.topic_id) return RecordId(topic, want.topic_id, std::move(then));
  then(Status::Ok());
}

void MetaService::CreateLocal(const MetaTopic& desired, const std::string& topic,
                              std::function<void(Status)> then) {
  pb::CreateTopicRequest create;
  create.set_name(topic);
  *create.mutable_config() = broker::ToProto(desired.config);
  broker_.CreateTopic(
      create, [this, topic, id = desired.topic_id, then](Result<pb::TopicDescription> created) {
        if (!created.ok()) return then(created.status());
        RecordId(topic, id, then);
      });
}

void MetaService::RecordId(const std::string& topic, const std::string& id,
                           std::function<void(Status)> then) {
  using RecordWrite = storage::Store::RecordWrite;
  std::vector<RecordWrite> writes;
  const std::string key = std::string(kIdPrefix) + topic;
  if (id.empty()) {
    writes.push_back({RecordWrite::Kind::kDelete, key, {}});
  } else {
    writes.push_back({RecordWrite::Kind::kPut, key, id});
  }
  store_.WriteRecordsAsync(std::move(writes), /*sync=*/false,
                           [this, alive = alive_, post = post_, topic, id, then](Status s) {
                             post([this, alive, topic, id, then, s] {
                               if (!*alive) return;
                               if (s.ok()) {
                                 if (id.empty()) {
                                   local_ids_.erase(topic);
                                 } else {
                                   local_ids_[topic] = id;
                                 }
                               }
                               then(s);
                             });
                           });
}

void MetaService::Decorate(pb::TopicDescription* description) const {
  auto it = local_ids_.find(description->name());
  if (it != local_ids_.end()) description->set_topic_id(it->second);
  if (decorator_) decorator_(description);
}

std::string MetaService::MemberName(NodeId id) const {
  if (id == replication::kNoNode) return "";
  auto it = names_.find(id);
  return it == names_.end() ? std::to_string(id) : it->second;
}

bool MetaService::Leads() const {
  const replication::Raft* r = open_ ? host_.group(kGroup) : nullptr;
  return r != nullptr && r->role() == replication::Role::kLeader;
}

nlohmann::json MetaService::StatusJson() {
  nlohmann::json out = {{"node_id", options_.node_id},
                        {"formed", open_},
                        {"bootstrap_expect", options_.bootstrap_expect},
                        {"topics", state_.topics().size()}};
  const replication::Raft* r = open_ ? host_.group(kGroup) : nullptr;
  if (r == nullptr) return out;
  nlohmann::json voters = nlohmann::json::array();
  nlohmann::json learners = nlohmann::json::array();
  std::vector<std::string> names;
  for (NodeId v : r->conf().voters) names.push_back(MemberName(v));
  std::sort(names.begin(), names.end());
  for (std::string& n : names) voters.push_back(std::move(n));
  names.clear();
  for (NodeId l : r->conf().learners) names.push_back(MemberName(l));
  std::sort(names.begin(), names.end());
  for (std::string& n : names) learners.push_back(std::move(n));
  out["role"] = RoleName(r->role());
  out["term"] = r->term();
  out["leader"] = MemberName(r->leader());
  out["commit"] = r->commit();
  out["voters"] = voters;
  out["learners"] = learners;
  return out;
}

}  // namespace sprawl::meta
