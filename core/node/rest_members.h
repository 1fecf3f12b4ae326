#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/broker/broker.h"
#include "core/client/message.h"

namespace sprawl::node {

// Consumer group members that consume over HTTP long polls instead of a
// ZeroMQ connection. Their deliveries land here (connection "http:<member>")
// and wait for the member's next poll. Loop thread only.
class RestMembers {
 public:
  static constexpr std::string_view kConnectionPrefix = "http:";
  using PollDone = std::function<void(std::vector<client::Message>)>;

  // Buffers a push for its member; dropped (and redelivered after the ack
  // timeout) when nobody polls for it.
  void OnDeliver(const std::string& connection, const broker::pb::DeliverPush& push,
                 const broker::Batches& batches);
  // Hands up to `max` buffered messages of `member` to `done` now, or when
  // some arrive, or empty at `deadline_nanos`.
  void Poll(const std::string& member, size_t max, int64_t deadline_nanos, PollDone done);
  // Answers polls whose deadline passed.
  void Tick(int64_t now_nanos);
  int64_t NextDeadlineNanos() const;

 private:
  struct Waiter {
    size_t max;
    int64_t deadline_nanos;
    PollDone done;
  };
  std::vector<client::Message> Take(const std::string& member, size_t max);

  std::map<std::string, std::deque<client::Message>> buffered_;
  std::map<std::string, std::vector<Waiter>> waiting_;
};

}  // namespace sprawl::node
