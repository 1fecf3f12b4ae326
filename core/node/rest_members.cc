#include "core/node/rest_members.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace sprawl::node {

void RestMembers::OnDeliver(const std::string& connection, const broker::pb::DeliverPush& push,
                            const broker::Batches& batches) {
  const std::string member = connection.substr(kConnectionPrefix.size());
  std::unordered_map<uint64_t, uint32_t> counts;
  for (const auto& d : push.deliveries()) counts[d.offset()] = d.delivery_count();
  auto& queue = buffered_[member];
  for (const auto& batch : batches) {
    auto messages = client::DecodeBatch(push.topic(), push.partition(), *batch);
    if (!messages.ok()) continue;
    for (auto& m : *messages) {
      auto it = counts.find(m.offset);
      if (it == counts.end()) continue;
      m.delivery_count = it->second;
      counts.erase(it);
      queue.push_back(std::move(m));
    }
  }
  auto waiting = waiting_.find(member);
  if (waiting == waiting_.end() || queue.empty()) return;
  std::vector<Waiter> waiters = std::move(waiting->second);
  waiting_.erase(waiting);
  for (Waiter& w : waiters) {
    auto taken = Take(member, w.max);
    if (taken.empty()) {
      waiting_[member].push_back(std::move(w));
    } else {
      w.done(std::move(taken));
    }
  }
}

std::vector<client::Message> RestMembers::Take(const std::string& member, size_t max) {
  std::vector<client::Message> out;
  auto it = buffered_.find(member);
  if (it == buffered_.end()) return out;
  while (!it->second.empty() && out.size() < max) {
    out.push_back(std::move(it->second.front()));
    it->second.pop_front();
  }
  if (it->second.empty()) buffered_.erase(it);
  return out;
}

void RestMembers::Poll(const std::string& member, size_t max, int64_t deadline_nanos,
                       PollDone done) {
  auto taken = Take(member, max);
  if (!taken.empty()) return done(std::move(taken));
  waiting_[member].push_back({max, deadline_nanos, std::move(done)});
}

void RestMembers::Tick(int64_t now_nanos) {
  std::vector<PollDone> expired;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto& list = it->second;
    for (auto w = list.begin(); w != list.end();) {
      if (w->deadline_nanos <= now_nanos) {
        expired.push_back(std::move(w->done));
        w = list.erase(w);
      } else {
        ++w;
      }
    }
    it = list.empty() ? waiting_.erase(it) : std::next(it);
  }
  for (auto& done : expired) done({});
}

int64_t RestMembers::NextDeadlineNanos() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [member, list] : waiting_) {
    for (const Waiter& w : list) next = std::min(next, w.deadline_nanos);
  }
  return next;
}

}  // namespace sprawl::node
