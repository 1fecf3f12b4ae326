#pragma once

#include "core/util/metrics.h"

namespace sprawl::broker {

// The broker's counters and gauges, registered once per node.
struct BrokerMetrics {
  explicit BrokerMetrics(metrics::Registry& registry);

  metrics::Counter& published_batches;
  metrics::Counter& published_records;
  metrics::Counter& published_bytes;
  metrics::Counter& publish_rejected;     // a batch refused for bad input
  metrics::Counter& publish_retry_after;  // a batch refused for capacity
  metrics::Counter& publish_duplicates;   // idempotent retries answered from the table
  metrics::Counter& fetched_batches;
  metrics::Counter& group_deliveries;    // messages pushed to group members
  metrics::Counter& group_redeliveries;  // of which were redeliveries
  metrics::Counter& group_acks;
  metrics::Counter& group_nacks;
  metrics::Counter& dead_lettered;        // moved to a dead letter topic
  metrics::Counter& dead_letter_dropped;  // out of deliveries, no dead letter topic
  metrics::Counter& expired;              // TTL passed before delivery
  metrics::Counter& rebalances;
  metrics::Gauge& pending_publish_bytes;
  metrics::Gauge& parked_fetches;
  metrics::Histogram& publish_seconds;  // from the request to its ack
};

}  // namespace sprawl::broker
