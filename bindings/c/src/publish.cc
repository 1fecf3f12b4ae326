// Publishing: sync, async with a delivery callback, flush and poll mode.
#include <future>

#include "handles.h"

namespace sprawl::cabi {
namespace {

struct Record {
  std::string topic;
  std::optional<std::string_view> key;
  std::string_view value;
  client::Headers headers;
  std::optional<uint32_t> partition;
};

Result<Record> RecordFrom(const char* topic, int32_t partition, const void* key, size_t key_len,
                          const void* value, size_t value_len, const char* const* header_names,
                          const void* const* header_values, const size_t* header_value_lens,
                          size_t header_count) {
  Record r;
  SPRAWL_ASSIGN_OR_RETURN(r.topic, StringArgument(topic, "topic"));
  if (value == nullptr && value_len > 0) return InvalidArgument("value is NULL but has a length");
  if (key != nullptr) r.key = std::string_view(static_cast<const char*>(key), key_len);
  if (key == nullptr && key_len > 0) return InvalidArgument("key is NULL but has a length");
  r.value = value_len == 0 ? std::string_view()
                           : std::string_view(static_cast<const char*>(value), value_len);
  if (header_count > 0 &&
      (header_names == nullptr || header_values == nullptr || header_value_lens == nullptr)) {
    return InvalidArgument("headers: names, values and lengths must not be NULL");
  }
  for (size_t i = 0; i < header_count; ++i) {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(header_names[i], "a header name"));
    if (header_values[i] == nullptr && header_value_lens[i] > 0) {
      return InvalidArgument("header '" + name + "' has a NULL value with a length");
    }
    r.headers.emplace_back(std::move(name),
                           std::string(static_cast<const char*>(header_values[i]),
                                       header_values[i] == nullptr ? 0 : header_value_lens[i]));
  }
  if (partition >= 0) r.partition = static_cast<uint32_t>(partition);
  return r;
}

// Owns a delivery callback's user data: free_user_data runs exactly once,
// when the last copy of the callback goes.
struct Callback {
  Callback(sprawl_delivery_fn f, void* data, void (*free_data)(void*))
      : fn(f), user_data(data), free_user_data(free_data) {}
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  sprawl_delivery_fn fn;
  void* user_data;
  void (*free_user_data)(void*);
  ~Callback() {
    if (free_user_data == nullptr) return;
    try {
      free_user_data(user_data);
    } catch (...) {  // as in Report: nothing unwinds into a library thread
    }
  }
};

// Runs the caller's callback. It is C, but may be C++ that throws: nothing
// may unwind into the producer's or the connection's thread, so an
// exception ends here (sprawl.h says so).
void Report(const Callback& cb, const Result<client::PublishAck>& ack) noexcept {
  if (cb.fn == nullptr) return;
  try {
    if (ack.ok()) {
      cb.fn(cb.user_data, nullptr, ack->partition, ack->offset);
    } else {
      sprawl_error_t error{ack.status()};
      cb.fn(cb.user_data, &error, 0, 0);
    }
  } catch (...) {
  }
}

// The ack as the caller sees it: with acks "none" the node never said
// where the record went, so the offset is SPRAWL_OFFSET_UNKNOWN rather than
// a guess.
Result<client::PublishAck> AsReported(const ClientState& state, Result<client::PublishAck> ack) {
  if (ack.ok() && !state.offsets_known) ack->offset = SPRAWL_OFFSET_UNKNOWN;
  return ack;
}

// Queues a record with `send` unless the client is closed; see
// ClientState::lifecycle.
template <typename Send>
Status Queue(ClientState& state, Send&& send) {
  sprawl::ReaderLock lock(state.lifecycle);
  if (state.closed) return ClosedClient();
  send();
  return Status::Ok();
}

}  // namespace
}  // namespace sprawl::cabi

extern "C" {

using sprawl::Result;
using sprawl::Status;
using namespace sprawl::cabi;

sprawl_status_t sprawl_publish(sprawl_client_t* client, const char* topic, int32_t partition,
                               const void* key, size_t key_len, const void* value, size_t value_len,
                               const char* const* header_names, const void* const* header_values,
                               const size_t* header_value_lens, size_t header_count, int timeout_ms,
                               uint32_t* partition_out, uint64_t* offset_out,
                               sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(
        Record r, RecordFrom(topic, partition, key, key_len, value, value_len, header_names,
                             header_values, header_value_lens, header_count));
    auto outcome = std::make_shared<std::promise<Result<sprawl::client::PublishAck>>>();
    auto done = outcome->get_future();
    SPRAWL_RETURN_IF_ERROR(Queue(state, [&] {
      state.producer->Send(
          r.topic, r.key, r.value, r.headers,
          [outcome](Result<sprawl::client::PublishAck> ack) { outcome->set_value(std::move(ack)); },
          r.partition);
    }));
    // Waits without the lifecycle lock: a close meanwhile fails the record
    // with CLOSED (after its flush) and so ends the wait.
    if (timeout_ms >= 0 &&
        done.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
      return Status(sprawl::ErrorCode::kTimeout, "no acknowledgement within " +
                                                     std::to_string(timeout_ms) +
                                                     " ms; the message may still be stored");
    }
    Result<sprawl::client::PublishAck> ack = AsReported(state, done.get());
    if (!ack.ok()) return ack.status();
    if (partition_out != nullptr) *partition_out = ack->partition;
    if (offset_out != nullptr) *offset_out = ack->offset;
    return Status::Ok();
  });
}

sprawl_status_t sprawl_publish_async(sprawl_client_t* client, const char* topic, int32_t partition,
                                     const void* key, size_t key_len, const void* value,
                                     size_t value_len, const char* const* header_names,
                                     const void* const* header_values,
                                     const size_t* header_value_lens, size_t header_count,
                                     sprawl_delivery_fn fn, void* user_data,
                                     void (*free_user_data)(void*), sprawl_error_t** err) {
  // Owns user_data from here: on any failure below it is freed once.
  auto callback = std::make_shared<Callback>(fn, user_data, free_user_data);
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(
        Record r, RecordFrom(topic, partition, key, key_len, value, value_len, header_names,
                             header_values, header_value_lens, header_count));
    // The producer is the state's, so its callbacks never outlive the state.
    ClientState* s = &state;
    return Queue(state, [&] {
      state.producer->Send(
          r.topic, r.key, r.value, r.headers,
          [s, callback](Result<sprawl::client::PublishAck> reported) {
            Result<sprawl::client::PublishAck> ack = AsReported(*s, std::move(reported));
            if (callback->fn == nullptr) {
              if (!ack.ok()) {
                sprawl::MutexLock lock(s->failure_mu);
                if (!s->failure) s->failure = ack.status();
              }
              return;
            }
            if (!s->poll_mode) return Report(*callback, ack);
            {
              sprawl::MutexLock lock(s->poll_mu);
              s->due.push_back([callback, ack] { Report(*callback, ack); });
            }
            s->poll_cv.notify_one();
          },
          r.partition);
    });
  });
}

sprawl_status_t sprawl_client_flush(sprawl_client_t* client, int timeout_ms, sprawl_error_t** err) {
  // No lifecycle lock while waiting: a close meanwhile completes the records.
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_RETURN_IF_ERROR(state.producer->Flush(
        timeout_ms < 0 ? state.delivery_timeout : std::chrono::milliseconds(timeout_ms)));
    sprawl::MutexLock lock(state.failure_mu);
    std::optional<Status> failure = std::move(state.failure);
    state.failure.reset();
    return failure.value_or(Status::Ok());
  });
}

int sprawl_client_poll(sprawl_client_t* client, int timeout_ms) {
  if (client == nullptr) return -1;
  ClientState& state = *client->state;
  if (!state.poll_mode) return 0;
  std::deque<std::function<void()>> batch;
  {
    sprawl::UniqueLock lock(state.poll_mu);
    auto ready = [&]() REQUIRES(state.poll_mu) { return !state.due.empty() || state.close_done; };
    if (timeout_ms < 0) {
      state.poll_cv.wait(lock.native(), ready);
    } else if (timeout_ms > 0) {
      state.poll_cv.wait_for(lock.native(), std::chrono::milliseconds(timeout_ms), ready);
    }
    batch.swap(state.due);
  }
  int ran = 0;
  for (auto& fn : batch) {
    fn();  // Report catches what the callback throws
    ++ran;
  }
  return ran;
}

}  // extern "C"
