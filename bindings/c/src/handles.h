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
#include <shared_mutex>
#include <string>

#include "core/client/client.h"
#include "core/client/group_consumer.h"
#include "core/client/offset_consumer.h"
#include "core/client/producer.h"
#include "core/node/node.h"
#include "core/util/status.h"
#include "sprawl/sprawl.h"

struct sprawl_error {
  sprawl::Status status;
};

struct sprawl_config {
  std::map<std::string, std::string> values;
};

struct sprawl_node {
  std::mutex mu;
  std::unique_ptr<sprawl::node::Node> node;
  std::string client_address;
  std::string http_address;
  std::string peer_address;
};

struct sprawl_client {
  std::unique_ptr<sprawl::client::Client> client;
  std::unique_ptr<sprawl::client::Producer> producer;
  // Calls in progress hold it shared; close takes it exclusively, so a client
  // is never torn down under a call.
  std::shared_mutex lifecycle;
  bool closed = false;  // under lifecycle
  std::chrono::milliseconds delivery_timeout{120'000};
  bool poll_mode = false;
  // Poll mode: delivery callbacks waiting for sprawl_client_poll.
  std::mutex poll_mu;
  std::condition_variable poll_cv;
  std::deque<std::function<void()>> due;
  // The first failure of a message published without a callback since the
  // last flush.
  std::mutex failure_mu;
  std::optional<sprawl::Status> failure;
  std::atomic<int> consumers{0};
};

struct sprawl_consumer {
  sprawl_client* client = nullptr;
  std::unique_ptr<sprawl::client::GroupConsumer> group;
  std::unique_ptr<sprawl::client::OffsetConsumer> offsets;
  std::atomic<bool> closed{false};  // close may come from another thread
};

struct sprawl_message {
  sprawl::client::Message message;
  const sprawl_consumer* owner = nullptr;
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

// Runs `body` while holding the client open (shared with other calls), or
// fails with CLOSED; catches exceptions like Guard.
sprawl_status_t RunOnOpenClient(sprawl_client_t* client, sprawl_error_t** err,
                                const std::function<Status()>& body);

}  // namespace sprawl::cabi
