#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/client/client.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

struct GroupConsumerConfig {
  std::string topic;
  std::string group;
  std::string client_name = "sprawl-cpp";
  // Credits: the server keeps at most this many unsettled deliveries here.
  uint32_t max_in_flight = 100;
  // Byte budget beside the credits: the server keeps at most this many bytes
  // of unsettled deliveries here (a larger message comes alone). 0 = the
  // node's default, protocol::kDefaultMaxInFlightBytes (8 MiB).
  uint64_t max_in_flight_bytes = 0;
  std::chrono::milliseconds session_timeout{10'000};
  // Where a group that does not exist yet starts: false = earliest.
  bool start_latest = false;
  // Ack every message as Receive returns it.
  bool auto_ack = false;
  // Acks and nacks are sent in batches at least this often.
  std::chrono::milliseconds settle_interval{2};
};

// A member of a consumer group. The server pushes deliveries (within the
// credits) to this member's connection; Receive hands them out in arrival
// order; Ack/Nack settle them in batches. A background thread heartbeats and
// rejoins when the session was lost. Thread-safe. One GroupConsumer per
// (topic, group) per Client.
class GroupConsumer {
 public:
  // Joins the group; NOT_FOUND for a missing topic, INVALID_ARGUMENT for bad
  // names or settings.
  static Result<std::unique_ptr<GroupConsumer>> Join(Client& client, GroupConsumerConfig config);
  // Close()s.
  ~GroupConsumer();

  // The next delivered message, or nullopt after `timeout`. CLOSED after Close.
  Result<std::optional<Message>> Receive(std::chrono::milliseconds timeout);

  // Settle a received message: done, or redeliver after `delay`.
  void Ack(const Message& message);
  void Nack(const Message& message, std::chrono::milliseconds delay = std::chrono::milliseconds(0));

  // Sends the acks and nacks given so far now and waits until the node has
  // answered them (or their requests timed out). CLOSED after Close.
  Status Commit();

  // Sends pending acks, leaves the group (undelivered and unacked messages go
  // to other members) and stops. Idempotent.
  Status Close();

  // Makes Receive return CLOSED from now on and wakes one that waits,
  // without leaving the group or stopping (Close still does both). For an
  // owner whose connection is going away. Thread-safe; does not block.
  void Interrupt();

  std::string member_id() const;
  std::vector<uint32_t> partitions() const;

 private:
  GroupConsumer(Client& client, GroupConsumerConfig config);
  Status JoinNow();
  // One JoinGroup request and its answer.
  Status JoinOnce(const protocol::pb::JoinGroupRequest& request);
  void OnPush(transport::Reply& push, pb::DeliverPush& deliver);
  void Run();
  // Sends the queued acks and nacks; releases mu_ while handing the request
  // to the connection.
  void SendSettles() REQUIRES(mu_);
  void QueueAck(const Message& message) REQUIRES(mu_);

  Client& client_;
  const GroupConsumerConfig config_;
  mutable Mutex mu_;
  std::condition_variable received_cv_;
  std::condition_variable work_cv_;
  // Received messages, one vector per push; queue_head_ indexes the next one
  // in the front vector. Never holds an empty vector.
  std::deque<std::vector<Message>> queue_ GUARDED_BY(mu_);
  size_t queue_head_ GUARDED_BY(mu_) = 0;
  std::vector<std::pair<uint32_t, uint64_t>> acks_ GUARDED_BY(mu_);
  uint64_t acked_bytes_ GUARDED_BY(mu_) = 0;  // of the messages in acks_
  std::vector<std::pair<uint32_t, uint64_t>> nacks_ GUARDED_BY(mu_);
  uint32_t nack_delay_ms_ GUARDED_BY(mu_) = 0;
  std::string member_id_ GUARDED_BY(mu_);
  std::vector<uint32_t> partitions_ GUARDED_BY(mu_);
  size_t settles_in_flight_ GUARDED_BY(mu_) = 0;  // settle replies whose callback has not run
  std::condition_variable settled_cv_;
  bool closed_ GUARDED_BY(mu_) = false;
  bool interrupted_ GUARDED_BY(mu_) = false;  // Receive returns CLOSED; the member stays
  bool rejoin_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sprawl::client
