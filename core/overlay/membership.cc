#include "core/overlay/membership.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sprawl::overlay {
namespace {

Event::Kind EventFor(MemberState state) {
  switch (state) {
    case MemberState::kAlive:
      return Event::Kind::kAlive;
    case MemberState::kSuspect:
      return Event::Kind::kSuspect;
    case MemberState::kDead:
      return Event::Kind::kDead;
    case MemberState::kLeft:
      return Event::Kind::kLeft;
  }
  return Event::Kind::kUpdated;
}

bool Probeable(MemberState state) {
  return state == MemberState::kAlive || state == MemberState::kSuspect;
}
bool Probeable(const Member& m) { return Probeable(m.state); }

}  // namespace

Status MembershipConfig::Validate() const {
  if (probe_interval_ms < 10 || probe_interval_ms > 60'000) {
    return InvalidArgument("gossip probe interval must be between 10 ms and 60 s, not " +
                           std::to_string(probe_interval_ms) + " ms");
  }
  if (probe_timeout_ms < 1 || probe_timeout_ms >= probe_interval_ms) {
    return InvalidArgument("gossip probe timeout (" + std::to_string(probe_timeout_ms) +
                           " ms) must be at least 1 ms and shorter than the probe interval (" +
                           std::to_string(probe_interval_ms) + " ms)");
  }
  if (indirect_probes < 0 || indirect_probes > 16) {
    return InvalidArgument("gossip indirect probes must be between 0 and 16");
  }
  if (!(suspicion_mult >= 1.0 && suspicion_mult <= 100.0)) {
    return InvalidArgument("gossip suspicion multiplier must be between 1 and 100");
  }
  if (!(suspicion_max_factor >= 1.0 && suspicion_max_factor <= 100.0)) {
    return InvalidArgument("gossip suspicion max factor must be between 1 and 100");
  }
  if (suspicion_confirmations < 1 || suspicion_confirmations > 64) {
    return InvalidArgument("gossip suspicion confirmations must be between 1 and 64");
  }
  if (retransmit_mult < 1 || retransmit_mult > 64) {
    return InvalidArgument("gossip retransmit multiplier must be between 1 and 64");
  }
  if (max_local_health < 0 || max_local_health > 64) {
    return InvalidArgument("gossip max local health must be between 0 and 64");
  }
  if (push_pull_interval_ms < probe_interval_ms || push_pull_interval_ms > 3'600'000) {
    return InvalidArgument("gossip push-pull interval must be between the probe interval and 1 h");
  }
  if (dead_retention_ms < probe_interval_ms) {
    return InvalidArgument("gossip dead retention must be at least the probe interval");
  }
  if (max_piggyback < 1 || max_piggyback > 256) {
    return InvalidArgument("gossip updates per message must be between 1 and 256");
  }
  return Status::Ok();
}

Membership::Membership(NodeMeta self, MembershipConfig config, uint64_t seed)
    : self_id_(self.id), config_(config), rng_(seed) {
  Member m;
  m.meta = std::move(self);
  members_[self_id_] = std::move(m);
  ++counts_[static_cast<size_t>(MemberState::kAlive)];
}

void Membership::Join(const std::vector<std::string>& seeds, int64_t now_ms) {
  // A random phase, so that nodes started together do not probe in lockstep.
  next_probe_ms_ = now_ms + static_cast<int64_t>(rng_() % config_.probe_interval_ms);
  next_push_pull_ms_ = now_ms + config_.push_pull_interval_ms;
  members_[self_id_].state_since_ms = now_ms;
  Enqueue({MemberState::kAlive, self().incarnation, self().meta, ""});
  seeds_.clear();
  for (const std::string& seed : seeds) {
    if (seed != self().meta.peer_address) seeds_.push_back(seed);
  }
  for (const std::string& seed : seeds_) PushPull(seed);
  next_join_retry_ms_ = now_ms + 5 * config_.probe_interval_ms;
}

void Membership::PushPull(const std::string& address) {
  Message m = NewMessage(MessageKind::kPushPull);
  m.updates = FullState();
  Send(address, std::move(m));
}

std::string Membership::RandomDead() {
  std::vector<std::string> dead;
  for (const auto& [id, m] : members_) {
    if (m.state == MemberState::kDead) dead.push_back(id);
  }
  if (dead.empty()) return "";
  return dead[rng_() % dead.size()];
}

void Membership::Leave(int64_t now_ms) {
  if (left_) return;
  Member& me = members_[self_id_];
  me.incarnation += 1;
  SetState(me, MemberState::kLeft, me.incarnation, now_ms);
  Update u{MemberState::kLeft, me.incarnation, me.meta, self_id_};
  // Told to every live member at once: a leave must not look like a crash.
  for (const auto& [id, m] : members_) {
    if (id == self_id_ || !Probeable(m)) continue;
    Message msg = NewMessage(MessageKind::kPushPullReply);
    msg.updates = {u};
    Send(m.meta.peer_address, std::move(msg));
  }
  left_ = true;
}

void Membership::UpdateMeta(const NodeMeta& meta, int64_t now_ms) {
  if (left_) return;  // a node that left stays left until it joins anew
  Member& me = members_[self_id_];
  me.meta = meta;
  me.meta.id = self_id_;
  me.incarnation += 1;  // a newer incarnation carries the new metadata
  (void)now_ms;
  Enqueue({MemberState::kAlive, me.incarnation, me.meta, ""});
}

Message Membership::NewMessage(MessageKind kind) {
  Message m;
  m.kind = kind;
  m.sender = self_id_;
  m.sender_address = self().meta.peer_address;
  return m;
}

void Membership::Send(const std::string& to, Message message) {
  ++metrics_.messages_sent;
  outgoing_.push_back({to, std::move(message)});
}

size_t Membership::ClusterSize() const {
  return counts_[static_cast<size_t>(MemberState::kAlive)] +
         counts_[static_cast<size_t>(MemberState::kSuspect)];
}

size_t Membership::count(MemberState state) const { return counts_[static_cast<size_t>(state)]; }

size_t Membership::RetransmitLimit() const {
  const double n = static_cast<double>(ClusterSize());
  return static_cast<size_t>(config_.retransmit_mult * std::ceil(std::log10(n + 1)));
}

int64_t Membership::SuspicionTimeout(const Suspicion& s) const {
  const double n = static_cast<double>(std::max<size_t>(ClusterSize(), 10));
  const double min =
      config_.suspicion_mult * std::log10(n) * static_cast<double>(config_.probe_interval_ms);
  const double max = config_.suspicion_max_factor * min;
  // Confirmations from other nodes (the suspecter's own does not count).
  const double c = static_cast<double>(s.confirmations.size() > 0 ? s.confirmations.size() - 1 : 0);
  const double k = static_cast<double>(config_.suspicion_confirmations);
  const double timeout = max - (max - min) * std::log(c + 1) / std::log(k + 1);
  return static_cast<int64_t>(std::max(min, timeout));
}

void Membership::Enqueue(Update update) {
  // A newer update about a member replaces the one still waiting.
  std::erase_if(queue_, [&](const Queued& q) { return q.update.meta.id == update.meta.id; });
  queue_.push_back({std::move(update), 0});
}

void Membership::Piggyback(Message& message) {
  // The least-sent updates first: new news spreads fastest.
  std::stable_sort(queue_.begin(), queue_.end(),
                   [](const Queued& a, const Queued& b) { return a.transmits < b.transmits; });
  const size_t limit = RetransmitLimit();
  const size_t n = std::min(config_.max_piggyback, queue_.size());
  for (size_t i = 0; i < n; ++i) {
    message.updates.push_back(queue_[i].update);
    ++queue_[i].transmits;
  }
  std::erase_if(queue_, [&](const Queued& q) { return q.transmits >= static_cast<int>(limit); });
}

std::vector<Update> Membership::FullState() const {
  std::vector<Update> out;
  out.reserve(members_.size());
  for (const auto& [id, m] : members_) out.push_back({m.state, m.incarnation, m.meta, ""});
  return out;
}

void Membership::SetState(Member& member, MemberState state, uint64_t incarnation, int64_t now_ms) {
  member.incarnation = incarnation;
  if (member.state == state) return;
  --counts_[static_cast<size_t>(member.state)];
  ++counts_[static_cast<size_t>(state)];
  member.state = state;
  member.state_since_ms = now_ms;
  events_.push_back({EventFor(state), member});
}

void Membership::Refute(uint64_t incarnation, int64_t now_ms) {
  Member& me = members_[self_id_];
  me.incarnation = std::max(me.incarnation, incarnation) + 1;
  me.state_since_ms = now_ms;
  ++metrics_.suspicions_refuted;
  Enqueue({MemberState::kAlive, me.incarnation, me.meta, ""});
}

void Membership::Apply(const Update& u, int64_t now_ms) {
  const std::string& id = u.meta.id;
  if (id == self_id_) {
    if (left_) return;
    // Anything but "alive at my incarnation or older" is about a previous
    // life or a false suspicion: answer with a higher incarnation.
    const bool wrong = u.state != MemberState::kAlive ? u.incarnation >= self().incarnation
                                                      : u.incarnation > self().incarnation;
    if (wrong) {
      Refute(u.incarnation, now_ms);
    } else if (u.state != MemberState::kAlive) {
      // Stale news of a suspicion already refuted: spread the refutation
      // again, it has not reached everyone.
      Enqueue({MemberState::kAlive, self().incarnation, self().meta, ""});
    }
    // The accuser hears the answer at once (Lifeguard's buddy system).
    if (u.state != MemberState::kAlive && !u.from.empty() && u.from != self_id_) {
      auto accuser = members_.find(u.from);
      if (accuser != members_.end() && Probeable(accuser->second)) {
        Message answer = NewMessage(MessageKind::kPushPullReply);
        answer.updates = {{MemberState::kAlive, self().incarnation, self().meta, ""}};
        Send(accuser->second.meta.peer_address, std::move(answer));
      }
    }
    return;
  }
  auto it = members_.find(id);
  if (it == members_.end()) {
    // News of the death or leave of a member this node does not know (it
    // never did, or forgot it after the retention) is not kept: a tombstone
    // made now would restart the retention, and members that gossip it back
    // and forth in push-pull would never forget (memberlist ignores it too).
    if (!Probeable(u.state)) return;
    Member m;
    m.meta = u.meta;
    m.state = u.state;
    m.incarnation = u.incarnation;
    m.state_since_ms = now_ms;
    Member& stored = members_[id] = m;
    ++counts_[static_cast<size_t>(m.state)];
    events_.push_back({Event::Kind::kJoined, stored});
    if (u.state == MemberState::kSuspect) {
      suspicions_[id] = {now_ms, {u.from}};
      events_.push_back({Event::Kind::kSuspect, stored});
    }
    Enqueue(u);
    return;
  }
  Member& m = it->second;
  switch (u.state) {
    case MemberState::kAlive:
      if (u.incarnation > m.incarnation) {
        const bool meta_changed = !(m.meta == u.meta);
        const bool state_changed = m.state != MemberState::kAlive;
        m.meta = u.meta;
        suspicions_.erase(id);
        SetState(m, MemberState::kAlive, u.incarnation, now_ms);
        if (meta_changed && !state_changed) events_.push_back({Event::Kind::kUpdated, m});
        Enqueue(u);
      }
      return;
    case MemberState::kSuspect:
      if ((m.state == MemberState::kAlive && u.incarnation >= m.incarnation) ||
          (m.state == MemberState::kSuspect && u.incarnation > m.incarnation)) {
        SetState(m, MemberState::kSuspect, u.incarnation, now_ms);
        suspicions_[id] = {now_ms, {u.from}};
        Enqueue(u);
      } else if (m.state == MemberState::kSuspect && u.incarnation == m.incarnation) {
        auto s = suspicions_.find(id);
        if (s != suspicions_.end() && s->second.confirmations.insert(u.from).second) Enqueue(u);
      }
      return;
    case MemberState::kDead:
      if (Probeable(m) && u.incarnation >= m.incarnation) {
        suspicions_.erase(id);
        SetState(m, MemberState::kDead, u.incarnation, now_ms);
        Enqueue(u);
      }
      return;
    case MemberState::kLeft:
      if (m.state != MemberState::kLeft && u.incarnation >= m.incarnation) {
        suspicions_.erase(id);
        SetState(m, MemberState::kLeft, u.incarnation, now_ms);
        Enqueue(u);
      }
      return;
  }
}

std::vector<std::string> Membership::RandomAlive(size_t k, const std::string& exclude) {
  std::vector<std::string> candidates;
  for (const auto& [id, m] : members_) {
    if (id != self_id_ && id != exclude && m.state == MemberState::kAlive) {
      candidates.push_back(id);
    }
  }
  std::shuffle(candidates.begin(), candidates.end(), rng_);
  if (candidates.size() > k) candidates.resize(k);
  return candidates;
}

std::string Membership::NextProbeTarget() {
  for (int pass = 0; pass < 2; ++pass) {
    while (probe_index_ < probe_order_.size()) {
      const std::string& id = probe_order_[probe_index_++];
      auto it = members_.find(id);
      if (it != members_.end() && Probeable(it->second)) return id;
    }
    // Randomized round-robin: every member once per round, in a new order.
    probe_order_.clear();
    for (const auto& [id, m] : members_) {
      if (id != self_id_ && Probeable(m)) probe_order_.push_back(id);
    }
    std::shuffle(probe_order_.begin(), probe_order_.end(), rng_);
    probe_index_ = 0;
  }
  return "";
}

void Membership::StartProbe(int64_t now_ms) {
  const std::string target = NextProbeTarget();
  if (target.empty()) return;
  Probe p;
  p.target = target;
  p.sequence = next_sequence_++;
  p.sent_ms = now_ms;
  probe_ = p;
  Message m = NewMessage(MessageKind::kPing);
  m.sequence = p.sequence;
  m.target = target;
  const Member& t = members_[target];
  if (t.state == MemberState::kSuspect) {
    // Tell the suspect itself, so that it refutes in its ack.
    m.updates.push_back({MemberState::kSuspect, t.incarnation, t.meta, self_id_});
  }
  Piggyback(m);
  ++metrics_.probes_sent;
  Send(members_[target].meta.peer_address, std::move(m));
}

void Membership::FinishProbe(int64_t now_ms) {
  Probe p = *probe_;
  probe_.reset();
  if (p.acked) {
    local_health_ = std::max(0, local_health_ - 1);
    return;
  }
  ++metrics_.probes_failed;
  // Lifeguard: a node that misses acks may itself be the slow one; it waits
  // longer before it accuses others.
  local_health_ = std::min(config_.max_local_health, local_health_ + 1);
  auto it = members_.find(p.target);
  if (it == members_.end() || it->second.state != MemberState::kAlive) return;
  Member& m = it->second;
  SetState(m, MemberState::kSuspect, m.incarnation, now_ms);
  suspicions_[p.target] = {now_ms, {self_id_}};
  ++metrics_.suspicions_raised;
  Enqueue({MemberState::kSuspect, m.incarnation, m.meta, self_id_});
}

void Membership::Tick(int64_t now_ms) {
  if (left_) return;
  if (probe_ && !probe_->acked && !probe_->indirect_sent &&
      now_ms >= probe_->sent_ms + Scaled(config_.probe_timeout_ms)) {
    probe_->indirect_sent = true;
    const Member& target = members_[probe_->target];
    for (const std::string& helper :
         RandomAlive(static_cast<size_t>(config_.indirect_probes), probe_->target)) {
      Message m = NewMessage(MessageKind::kPingReq);
      m.sequence = probe_->sequence;
      m.target = target.meta.id;
      m.target_address = target.meta.peer_address;
      Piggyback(m);
      ++metrics_.indirect_probes_sent;
      Send(members_[helper].meta.peer_address, std::move(m));
    }
  }
  if (now_ms >= next_probe_ms_) {
    if (probe_) FinishProbe(now_ms);
    StartProbe(now_ms);
    next_probe_ms_ = now_ms + Scaled(config_.probe_interval_ms);
  }
  for (auto it = suspicions_.begin(); it != suspicions_.end();) {
    Member& m = members_[it->first];
    if (m.state != MemberState::kSuspect) {
      it = suspicions_.erase(it);
      continue;
    }
    if (now_ms >= it->second.started_ms + SuspicionTimeout(it->second)) {
      auto heard = last_heard_ms_.find(it->first);
      if (heard != last_heard_ms_.end()) detections_.push_back(now_ms - heard->second);
      SetState(m, MemberState::kDead, m.incarnation, now_ms);
      Enqueue({MemberState::kDead, m.incarnation, m.meta, self_id_});
      it = suspicions_.erase(it);
      continue;
    }
    ++it;
  }
  std::erase_if(relays_, [&](const auto& r) { return now_ms >= r.second.expires_ms; });
  if (!seeds_.empty() && ClusterSize() <= 1 && now_ms >= next_join_retry_ms_) {
    // Alone: the join (or every member) was lost; ask the seeds again.
    next_join_retry_ms_ = now_ms + 5 * config_.probe_interval_ms;
    for (const std::string& seed : seeds_) PushPull(seed);
  }
  if (now_ms >= next_push_pull_ms_) {
    next_push_pull_ms_ = now_ms + config_.push_pull_interval_ms;
    // Every other exchange goes to a member thought dead, if any: after a
    // partition heals, that is how the two sides find each other again (the
    // "dead" side refutes on hearing it).
    const std::string dead = rng_() % 2 == 0 ? RandomDead() : "";
    if (!dead.empty()) {
      PushPull(members_[dead].meta.peer_address);
    } else {
      for (const std::string& peer : RandomAlive(1, "")) PushPull(members_[peer].meta.peer_address);
    }
  }
  if (now_ms >= next_forget_ms_) {  // a walk over every member: once a second is enough
    next_forget_ms_ = now_ms + 1000;
    std::erase_if(members_, [&](const auto& entry) {
      const Member& m = entry.second;
      const bool forget = entry.first != self_id_ && !Probeable(m) &&
                          now_ms - m.state_since_ms > config_.dead_retention_ms;
      if (forget) {
        last_heard_ms_.erase(entry.first);
        --counts_[static_cast<size_t>(m.state)];
      }
      return forget;
    });
  }
}

void Membership::Receive(const Message& message, int64_t now_ms) {
  ++metrics_.messages_received;
  if (left_) return;
  last_heard_ms_[message.sender] = now_ms;
  for (const Update& u : message.updates) Apply(u, now_ms);
  switch (message.kind) {
    case MessageKind::kPing: {
      // A ping for another id reached this address (a node restarted under
      // a new id there): no ack, so the prober does not mistake us for it.
      if (!message.target.empty() && message.target != self_id_) return;
      Message ack = NewMessage(MessageKind::kAck);
      ack.sequence = message.sequence;
      ack.target = self_id_;
      // An ack always says who answered and at which incarnation: a prober
      // that suspects us learns of the refutation from the ack itself.
      ack.updates.push_back({MemberState::kAlive, self().incarnation, self().meta, ""});
      Piggyback(ack);
      Send(message.sender_address, std::move(ack));
      return;
    }
    case MessageKind::kAck: {
      if (probe_ && message.sequence == probe_->sequence) {
        probe_->acked = true;
        return;
      }
      auto relay = relays_.find(message.sequence);
      if (relay == relays_.end()) return;
      Message forward = NewMessage(MessageKind::kAck);
      forward.sequence = relay->second.origin_sequence;
      forward.target = message.sender;
      forward.updates = message.updates;  // the target's own answer travels on
      const std::string to = relay->second.origin_address;
      relays_.erase(relay);
      Send(to, std::move(forward));
      return;
    }
    case MessageKind::kPingReq: {
      const uint64_t sequence = next_sequence_++;
      relays_[sequence] = {message.sender_address, message.sequence,
                           now_ms + 2 * config_.probe_interval_ms};
      Message ping = NewMessage(MessageKind::kPing);
      ping.sequence = sequence;
      ping.target = message.target;
      Piggyback(ping);
      Send(message.target_address, std::move(ping));
      return;
    }
    case MessageKind::kPushPull: {
      Message reply = NewMessage(MessageKind::kPushPullReply);
      reply.updates = FullState();
      Send(message.sender_address, std::move(reply));
      return;
    }
    case MessageKind::kPushPullReply:
      return;
  }
}

int64_t Membership::NextTickMs() const {
  int64_t next = std::min(next_probe_ms_, next_push_pull_ms_);
  if (!seeds_.empty() && ClusterSize() <= 1) next = std::min(next, next_join_retry_ms_);
  if (probe_ && !probe_->acked && !probe_->indirect_sent) {
    next = std::min(next, probe_->sent_ms + Scaled(config_.probe_timeout_ms));
  }
  for (const auto& [id, s] : suspicions_) {
    next = std::min(next, s.started_ms + SuspicionTimeout(s));
  }
  return next;
}

std::vector<Outgoing> Membership::TakeOutgoing() { return std::exchange(outgoing_, {}); }

std::vector<Event> Membership::TakeEvents() { return std::exchange(events_, {}); }

}  // namespace sprawl::overlay
