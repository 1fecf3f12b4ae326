#include "core/node/group_metrics.h"

#include <set>

namespace sprawl::node {

GroupMetrics::Gauges& GroupMetrics::For(const std::string& topic, const std::string& group) {
  auto [it, added] = gauges_.try_emplace({topic, group});
  if (added) {
    const metrics::Labels labels = {{"topic", topic}, {"group", group}};
    it->second = Gauges{
        &registry_.GetGauge("sprawl_group_lag",
                            "Messages of the group's topic not yet acknowledged by the group, "
                            "over its partitions (sampled every 5 s).",
                            labels),
        &registry_.GetGauge("sprawl_group_in_flight",
                            "Deliveries of the group awaiting their ack (sampled every 5 s).",
                            labels),
        &registry_.GetGauge("sprawl_group_dead_lettered",
                            "Messages the group dead-lettered (sampled every 5 s).", labels),
        &registry_.GetGauge("sprawl_group_members", "Members of the group (sampled every 5 s).",
                            labels),
    };
  }
  return it->second;
}

void GroupMetrics::Tick(int64_t now_nanos) {
  if (now_nanos < next_nanos_) return;
  next_nanos_ = now_nanos + kPeriodNanos;
  std::set<std::pair<std::string, std::string>> seen;
  const broker::pb::ListGroupsResponse listed = broker_.ListGroups({});
  for (const auto& g : listed.groups()) {
    int64_t lag = 0;
    int64_t in_flight = 0;
    int64_t dead_lettered = 0;
    for (const auto& p : g.partitions()) {
      lag += static_cast<int64_t>(p.lag());
      in_flight += static_cast<int64_t>(p.in_flight());
      dead_lettered += static_cast<int64_t>(p.dead_lettered());
    }
    Gauges& gauges = For(g.topic(), g.group());
    gauges.lag->Set(lag);
    gauges.in_flight->Set(in_flight);
    gauges.dead_lettered->Set(dead_lettered);
    gauges.members->Set(g.members_size());
    seen.emplace(g.topic(), g.group());
  }
  for (auto& [key, gauges] : gauges_) {
    if (seen.contains(key)) continue;
    for (metrics::Gauge* gauge :
         {gauges.lag, gauges.in_flight, gauges.dead_lettered, gauges.members}) {
      gauge->Set(0);
    }
  }
}

}  // namespace sprawl::node
