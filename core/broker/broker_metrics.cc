#include "core/broker/broker_metrics.h"

namespace sprawl::broker {

BrokerMetrics::BrokerMetrics(metrics::Registry& r)
    : published_batches(r.GetCounter("sprawl_broker_published_batches_total",
                                     "Record batches appended by publish requests.")),
      published_records(r.GetCounter("sprawl_broker_published_records_total",
                                     "Records appended by publish requests.")),
      published_bytes(r.GetCounter("sprawl_broker_published_bytes_total",
                                   "Bytes of record batches appended by publish requests.")),
      publish_rejected(r.GetCounter("sprawl_broker_publish_rejected_total",
                                    "Published batches refused for bad input.")),
      publish_retry_after(
          r.GetCounter("sprawl_broker_publish_retry_after_total",
                       "Published batches refused with RETRY_AFTER because the node was full.")),
      publish_duplicates(r.GetCounter("sprawl_broker_publish_duplicates_total",
                                      "Idempotent retries of batches already stored.")),
      fetched_batches(r.GetCounter("sprawl_broker_fetched_batches_total",
                                   "Record batches returned by fetch requests.")),
      group_deliveries(r.GetCounter("sprawl_broker_group_deliveries_total",
                                    "Messages pushed to consumer group members.")),
      group_redeliveries(r.GetCounter("sprawl_broker_group_redeliveries_total",
                                      "Group deliveries that were redeliveries.")),
      group_acks(r.GetCounter("sprawl_broker_group_acks_total", "Group deliveries acked.")),
      group_nacks(r.GetCounter("sprawl_broker_group_nacks_total", "Group deliveries nacked.")),
      dead_lettered(r.GetCounter("sprawl_broker_dead_lettered_total",
                                 "Messages moved to a dead letter topic after max deliveries.")),
      dead_letter_dropped(r.GetCounter(
          "sprawl_broker_dead_letter_dropped_total",
          "Messages dropped after max deliveries because their topic has no dead letter topic.")),
      expired(r.GetCounter("sprawl_broker_expired_total",
                           "Messages not delivered to a group because their TTL had passed.")),
      rebalances(r.GetCounter("sprawl_broker_group_rebalances_total",
                              "Consumer group rebalances (joins, leaves, session expiries).")),
      pending_publish_bytes(r.GetGauge("sprawl_broker_pending_publish_bytes",
                                       "Bytes appended and not yet acknowledged.")),
      parked_fetches(
          r.GetGauge("sprawl_broker_parked_fetches", "Fetch requests waiting for new records.")),
      publish_seconds(r.GetHistogram("sprawl_broker_publish_seconds",
                                     "Time from a publish request to its acknowledgement.")) {}

}  // namespace sprawl::broker
