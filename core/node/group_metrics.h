#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "core/broker/broker.h"
#include "core/util/metrics.h"

namespace sprawl::node {

// Exports each consumer group's state as gauges, labelled by topic and group:
// sprawl_group_lag (messages not yet acknowledged, summed over the
// partitions), sprawl_group_in_flight, sprawl_group_dead_lettered and
// sprawl_group_members. The broker keeps these figures in its cursors, not
// in its metrics, so they are sampled every kPeriodNanos on the event loop.
// The registry cannot remove a series, so a group that is gone reads 0.
class GroupMetrics {
 public:
  static constexpr int64_t kPeriodNanos = 5'000'000'000;

  // `broker` and `registry` must outlive this. Loop thread only.
  GroupMetrics(const broker::Broker& broker, metrics::Registry& registry)
      : broker_(broker), registry_(registry) {}

  // Samples every group when the period has passed since the last sample.
  void Tick(int64_t now_nanos);
  // When Tick next has work.
  int64_t NextDeadlineNanos() const { return next_nanos_; }

 private:
  struct Gauges {
    metrics::Gauge* lag;
    metrics::Gauge* in_flight;
    metrics::Gauge* dead_lettered;
    metrics::Gauge* members;
  };
  Gauges& For(const std::string& topic, const std::string& group);

  const broker::Broker& broker_;
  metrics::Registry& registry_;
  std::map<std::pair<std::string, std::string>, Gauges> gauges_;  // by (topic, group)
  int64_t next_nanos_ = 0;
};

}  // namespace sprawl::node
