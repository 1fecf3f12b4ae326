#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/broker/broker_metrics.h"
#include "core/broker/broker_options.h"
#include "core/broker/parked_fetches.h"
#include "core/broker/topic_registry.h"
#include "core/protocol/messages.h"
#include "core/util/clock.h"

namespace sprawl::broker {

// Reads by offset up to the commit index (the high watermark), and long polls
// parked until their partition commits more or their deadline passes. Runs on
// the node's event loop.
class FetchHandler {
 public:
  // Every reference must outlive the handler.
  FetchHandler(const TopicRegistry& topics, const Clock& clock, BrokerMetrics& metrics,
               const BrokerOptions& options)
      : topics_(topics), clock_(clock), metrics_(metrics), options_(options) {}

  // Reads committed batches from `offset`; parks the request up to
  // max_wait_ms when there is nothing new (RETRY_AFTER when too many wait).
  void Fetch(const protocol::pb::FetchRequest& request,
             std::function<void(Result<FetchReply>)> done);
  Result<protocol::pb::ListOffsetsResponse> ListOffsets(
      const protocol::pb::ListOffsetsRequest& request) const;

  // The commit index of (topic, partition) moved: answers the polls it satisfies.
  void OnCommitted(const std::string& topic, uint32_t partition);
  // A topic was deleted: its parked polls get NOT_FOUND.
  void DropTopic(const std::string& topic);
  // Answers the polls whose deadline passed.
  void Tick();
  // The earliest deadline of a parked poll; INT64_MAX when none.
  int64_t NextDeadlineNanos() const { return parked_.NextDeadlineNanos(); }

 private:
  Result<FetchReply> ReadCommitted(const protocol::pb::FetchRequest& request) const;

  const TopicRegistry& topics_;
  const Clock& clock_;
  BrokerMetrics& metrics_;
  const BrokerOptions options_;
  ParkedFetches parked_;
};

}  // namespace sprawl::broker
