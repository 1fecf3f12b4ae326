// Consumers (group and offset) and the messages they return.
#include "handles.h"
#include "settings.h"

namespace sprawl::cabi {
namespace {

// Runs `body` on an open consumer of an open client. Takes no lock: the
// client's state lives as long as the consumer, and close wakes a receive.
template <typename Body>
sprawl_status_t WithConsumer(sprawl_consumer_t* consumer, sprawl_error_t** err, Body&& body) {
  if (consumer == nullptr) return NullArgument(err, "consumer");
  return Guard(err, [&]() -> Status {
    if (consumer->closed) return Status(ErrorCode::kClosed, "the consumer is closed");
    if (consumer->client->closed) return ClosedClient();
    return body();
  });
}

Status CheckSettle(const sprawl_consumer_t* consumer, const sprawl_message_t* message) {
  if (message == nullptr) return InvalidArgument("message must not be NULL");
  if (!consumer->group) {
    return InvalidArgument("messages read by offset are not acked or nacked");
  }
  if (message->owner != consumer) {
    return InvalidArgument("the message was received by another consumer");
  }
  return Status::Ok();
}

std::chrono::milliseconds Wait(int timeout_ms) {
  // "Forever" in slices the caller does not see: a day at a time.
  return timeout_ms < 0 ? std::chrono::hours(24) : std::chrono::milliseconds(timeout_ms);
}

}  // namespace
}  // namespace sprawl::cabi

extern "C" {

using sprawl::Result;
using sprawl::Status;
using namespace sprawl::cabi;

sprawl_status_t sprawl_consumer_open(sprawl_client_t* client, const sprawl_config_t* config,
                                     sprawl_consumer_t** out, sprawl_error_t** err) {
  if (out == nullptr) return NullArgument(err, "out");
  *out = nullptr;
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_RETURN_IF_ERROR(CheckScope(config, Scope::kConsumer));
    auto topic_setting = Get(config, "topic");
    if (!topic_setting) return sprawl::InvalidArgument("a consumer needs the 'topic' setting");
    SPRAWL_ASSIGN_OR_RETURN(std::string topic, StringArgument(topic_setting->c_str(), "topic"));
    auto handle = std::make_unique<sprawl_consumer_t>();
    handle->client = client->state;
    const std::string start = Get(config, "start").value_or("earliest");
    if (auto group = Get(config, "group")) {
      if (Get(config, "partition")) {
        return sprawl::InvalidArgument(
            "'partition' is for reads by offset; a group's partitions are assigned");
      }
      sprawl::client::GroupConsumerConfig gc;
      gc.topic = topic;
      SPRAWL_ASSIGN_OR_RETURN(gc.group, StringArgument(group->c_str(), "group"));
      if (start != "earliest" && start != "latest") {
        return sprawl::InvalidArgument("a new group starts at earliest or latest, not '" + start +
                                       "'");
      }
      gc.start_latest = start == "latest";
      gc.auto_ack = GetBool(config, "auto_ack", false);
      gc.max_in_flight = static_cast<uint32_t>(GetUint(config, "max_in_flight", 1000));
      if (gc.max_in_flight == 0) return sprawl::InvalidArgument("max_in_flight must be above 0");
      // 0 (the default) leaves the byte budget to the node.
      gc.max_in_flight_bytes = GetUint(config, "max_in_flight_bytes", 0);
      gc.session_timeout = std::chrono::milliseconds(
          GetUint(config, "session_timeout_ms", static_cast<uint64_t>(gc.session_timeout.count())));
      gc.client_name = Get(config, "client_name").value_or("sprawl-c");
      SPRAWL_ASSIGN_OR_RETURN(handle->group,
                              sprawl::client::GroupConsumer::Join(*state.client, gc));
    } else {
      if (GetBool(config, "auto_ack", false)) {
        return sprawl::InvalidArgument("auto_ack needs a group: reads by offset are not acked");
      }
      std::vector<uint32_t> partitions;
      if (Get(config, "partition")) {
        partitions.push_back(static_cast<uint32_t>(GetUint(config, "partition", 0)));
      }
      SPRAWL_ASSIGN_OR_RETURN(auto position, sprawl::client::StartPosition::Parse(start));
      sprawl::client::OffsetConsumerOptions options;
      // Read by offset, the budget is what one fetch returns (at most 1 GiB
      // by the setting's range, so it fits).
      options.max_fetch_bytes = static_cast<uint32_t>(GetUint(config, "max_in_flight_bytes", 0));
      SPRAWL_ASSIGN_OR_RETURN(handle->offsets,
                              sprawl::client::OffsetConsumer::Open(*state.client, topic, partitions,
                                                                   position, options));
    }
    {
      sprawl::MutexLock lock(state.consumers_mu);
      // Closed while joining: close did not see this consumer to wake it.
      if (state.closed) return ClosedClient();
      state.consumers.insert(handle.get());
    }
    *out = handle.release();
    return Status::Ok();
  });
}

sprawl_status_t sprawl_consumer_receive(sprawl_consumer_t* consumer, int timeout_ms,
                                        sprawl_message_t** out, sprawl_error_t** err) {
  if (out == nullptr) return NullArgument(err, "out");
  *out = nullptr;
  return WithConsumer(consumer, err, [&]() -> Status {
    Result<std::optional<sprawl::client::Message>> got =
        consumer->group ? consumer->group->Receive(Wait(timeout_ms))
                        : consumer->offsets->Receive(Wait(timeout_ms));
    if (!got.ok()) return got.status();
    if (!got->has_value()) return Status::Ok();
    auto message = std::make_unique<sprawl_message_t>();
    message->message = std::move(**got);
    message->owner = consumer;
    for (const auto& header : message->message.headers) {
      message->header_names.emplace_back(header.first);
    }
    *out = message.release();
    return Status::Ok();
  });
}

sprawl_status_t sprawl_consumer_ack(sprawl_consumer_t* consumer, const sprawl_message_t* message,
                                    sprawl_error_t** err) {
  return WithConsumer(consumer, err, [&]() -> Status {
    SPRAWL_RETURN_IF_ERROR(CheckSettle(consumer, message));
    consumer->group->Ack(message->message);
    return Status::Ok();
  });
}

sprawl_status_t sprawl_consumer_nack(sprawl_consumer_t* consumer, const sprawl_message_t* message,
                                     int delay_ms, sprawl_error_t** err) {
  return WithConsumer(consumer, err, [&]() -> Status {
    SPRAWL_RETURN_IF_ERROR(CheckSettle(consumer, message));
    if (delay_ms < 0) return sprawl::InvalidArgument("a nack delay cannot be negative");
    consumer->group->Nack(message->message, std::chrono::milliseconds(delay_ms));
    return Status::Ok();
  });
}

sprawl_status_t sprawl_consumer_commit(sprawl_consumer_t* consumer, sprawl_error_t** err) {
  return WithConsumer(consumer, err, [&]() -> Status {
    return consumer->group ? consumer->group->Commit() : Status::Ok();
  });
}

sprawl_status_t sprawl_consumer_close(sprawl_consumer_t* consumer, sprawl_error_t** err) {
  if (consumer == nullptr) return NullArgument(err, "consumer");
  return Guard(err, [&]() -> Status {
    if (consumer->closed.exchange(true)) return Status::Ok();
    // Both wake a receive that waits on another thread.
    if (consumer->offsets) {
      consumer->offsets->Close();
      return Status::Ok();
    }
    // Leaving the group needs the connection; a closed client already cut it.
    if (consumer->client->closed) {
      consumer->group->Interrupt();
      return Status::Ok();
    }
    return consumer->group->Close();
  });
}

void sprawl_consumer_destroy(sprawl_consumer_t** consumer) {
  if (consumer == nullptr || *consumer == nullptr) return;
  (void)sprawl_consumer_close(*consumer, nullptr);
  {
    // Before the free: a client closing now may be waking this consumer.
    sprawl::cabi::ClientState& state = *(*consumer)->client;
    sprawl::MutexLock lock(state.consumers_mu);
    state.consumers.erase(*consumer);
  }
  delete *consumer;  // the last consumer of a destroyed client frees its state
  *consumer = nullptr;
}

const char* sprawl_message_topic(const sprawl_message_t* m) {
  return m == nullptr ? nullptr : m->message.topic.data();  // NUL-terminated (message.h)
}
uint32_t sprawl_message_partition(const sprawl_message_t* m) {
  return m == nullptr ? 0 : m->message.partition;
}
uint64_t sprawl_message_offset(const sprawl_message_t* m) {
  return m == nullptr ? 0 : m->message.offset;
}
int64_t sprawl_message_timestamp_ms(const sprawl_message_t* m) {
  return m == nullptr ? 0 : m->message.timestamp_ms;
}
uint32_t sprawl_message_delivery_count(const sprawl_message_t* m) {
  return m == nullptr ? 0 : m->message.delivery_count;
}

int sprawl_message_key(const sprawl_message_t* m, const void** data, size_t* len) {
  if (m == nullptr || !m->message.key) return 0;
  if (data != nullptr) *data = m->message.key->data();
  if (len != nullptr) *len = m->message.key->size();
  return 1;
}

void sprawl_message_value(const sprawl_message_t* m, const void** data, size_t* len) {
  if (data != nullptr) *data = m == nullptr ? "" : m->message.value.data();
  if (len != nullptr) *len = m == nullptr ? 0 : m->message.value.size();
}

size_t sprawl_message_header_count(const sprawl_message_t* m) {
  return m == nullptr ? 0 : m->message.headers.size();
}

int sprawl_message_header(const sprawl_message_t* m, size_t index, const char** name,
                          const void** value, size_t* len) {
  if (m == nullptr || index >= m->message.headers.size()) return 0;
  const auto& [k, v] = m->message.headers[index];
  if (name != nullptr) *name = m->header_names[index].c_str();
  if (value != nullptr) *value = v.data();
  if (len != nullptr) *len = v.size();
  return 1;
}

void sprawl_message_destroy(sprawl_message_t** message) {
  if (message == nullptr) return;
  delete *message;
  *message = nullptr;
}

}  // extern "C"
