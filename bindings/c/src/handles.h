// The structs behind sprawl.h's opaque handles, and the helpers every ABI
// function uses to turn C++ results and exceptions into status codes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/client/client.h"
#include "core/client/group_consumer.h"
#include "core/client/offset_consumer.h"
#include "core/client/producer.h"
#include "core/node/node.h"
#include "core/util/status.h"
#include "core/util/thread_annotations.h"
#include "sprawl/sprawl.h"

struct sprawl_error {
  sprawl::Status status;
};

struct sprawl_config {
  std::map<std::string, std::string> values;
};

struct sprawl_node {
  sprawl::Mutex mu;
  std::unique_ptr<sprawl::node::Node> node GUARDED_BY(mu);
  std::string client_address;
  std::string http_address;
  std::string peer_address;
};

namespace sprawl::cabi {

// A client's connection, producer and delivery state. The client handle and
// every consumer opened on it share it, so whichever is destroyed last frees
// it: a consumer that outlives its client only sees CLOSED.
struct ClientState {
  std::unique_ptr<client::Client> client;
  std::unique_ptr<client::Producer> producer;
  // Set once, first thing in close; every call checks it.
  std::atomic<bool> closed{false};
  // Publishes hold it shared while they queue a record; close takes it
  // exclusively once after setting `closed`, so every record queued before
  // close is part of its flush and none is queued after. Nothing waits for a
  // reply while holding it.
  SharedMutex lifecycle;
  std::chrono::milliseconds delivery_timeout{120'000};
  bool poll_mode = false;
  // False with acks "none": the node sends no offsets, so none is reported.
  bool offsets_known = true;
  // Poll mode: delivery callbacks waiting for sprawl_client_poll.
  Mutex poll_mu;
  std::condition_variable poll_cv;
  std::deque<std::function<void()>> due GUARDED_BY(poll_mu);
  bool close_done GUARDED_BY(poll_mu) = false;  // a poll stops waiting
  // The first failure of a message published without a callback since the
  // last flush.
  Mutex failure_mu;
  std::optional<Status> failure GUARDED_BY(failure_mu);
  // The consumers opened on the client and not destroyed yet: close wakes
  // their receives. A consumer leaves the set (under the lock) before it is
  // freed, so close never reaches a freed one.
  Mutex consumers_mu;
  std::set<sprawl_consumer*> consumers GUARDED_BY(consumers_mu);
};

}  // namespace sprawl::cabi

struct sprawl_client {
  std::shared_ptr<sprawl::cabi::ClientState> state;
};

struct sprawl_consumer {
  // First, so that it is released after the consumers below, which use the
  // client's connection until they are gone.
  std::shared_ptr<sprawl::cabi::ClientState> client;
  std::unique_ptr<sprawl::client::GroupConsumer> group;
  std::unique_ptr<sprawl::client::OffsetConsumer> offsets;
  std::atomic<bool> closed{false};  // close may come from another thread
};

struct sprawl_message {
  sprawl::client::Message message;
  const sprawl_consumer* owner = nullptr;
  // NUL-terminated copies of the header names (the message's are views into
  // the batch bytes), made only for messages that have headers.
  std::vector<std::string> header_names;
};

namespace sprawl::cabi {

// Stores `status` in `*err` (when err is not NULL) and returns its code.
sprawl_status_t Fail(sprawl_error_t** err, const Status& status);
// INVALID_ARGUMENT naming `what`.
sprawl_status_t NullArgument(sprawl_error_t** err, const char* what);
// A NUL-terminated, valid UTF-8, non-empty string argument, or an error.
Result<std::string> StringArgument(const char* text, const char* what);
// CLOSED for a closed client.
Status ClosedClient();

// Runs `body` (which returns a Status); exceptions become INTERNAL errors so
// that none crosses the C boundary.
template <typename Body>
sprawl_status_t Guard(sprawl_error_t** err, Body&& body) {
  try {
    Status status = body();
    return status.ok() ? SPRAWL_OK : Fail(err, status);
  } catch (const std::bad_alloc&) {
    return Fail(err, Status(ErrorCode::kResourceExhausted, "out of memory"));
  } catch (const std::exception& e) {
    return Fail(err, Status(ErrorCode::kInternal, std::string("unexpected error: ") + e.what()));
  } catch (...) {
    return Fail(err, Status(ErrorCode::kInternal, "unexpected error"));
  }
}

// Copies `text` into a buffer for sprawl_free, when `out` is not NULL.
void ReturnString(char** out, const std::string& text);

// Runs `body` with the client's state when the client is open, or fails
// with CLOSED (INVALID_ARGUMENT for NULL); catches exceptions like Guard.
sprawl_status_t RunOnOpenClient(sprawl_client_t* client, sprawl_error_t** err,
                                const std::function<Status(ClientState&)>& body);

}  // namespace sprawl::cabi
