// sprawl.hpp - a header-only C++17 RAII wrapper over sprawl.h, for C++
// applications and for the language bindings (Python, Node.js, Java).
//
// Errors are thrown as sprawl::Error (code, name, message, retriable);
// every handle is a move-only owner that destroys what it holds. Nothing
// here adds behaviour: each method is one C call, so the C ABI stays the
// one contract.
#ifndef SPRAWL_SPRAWL_HPP
#define SPRAWL_SPRAWL_HPP

#include <sprawl/sprawl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sprawl {

// An error the C API reported.
class Error : public std::runtime_error {
 public:
  Error(sprawl_status_t code, std::string name, const std::string& message, bool retriable)
      : std::runtime_error(name + ": " + message),
        code_(code),
        name_(std::move(name)),
        message_(message),
        retriable_(retriable) {}
  sprawl_status_t code() const { return code_; }
  const std::string& name() const { return name_; }
  const std::string& message() const { return message_; }
  bool retriable() const { return retriable_; }

 private:
  sprawl_status_t code_;
  std::string name_;
  std::string message_;
  bool retriable_;
};

namespace detail {

// Throws the error of a failed call (and frees it).
inline void Check(sprawl_status_t status, sprawl_error_t* error) {
  if (status == SPRAWL_OK) return;
  Error e(sprawl_error_code(error), sprawl_error_code_name(error), sprawl_error_message(error),
          sprawl_error_retriable(error) != 0);
  sprawl_error_destroy(&error);
  throw e;
}

// Calls fn(args..., &err) and throws on failure.
template <typename Fn, typename... Args>
void Call(Fn fn, Args... args) {
  sprawl_error_t* error = nullptr;
  const sprawl_status_t status = fn(args..., &error);  // before reading `error`
  Check(status, error);
}

// Takes ownership of a library string.
inline std::string TakeString(char* text) {
  std::string out = text == nullptr ? std::string() : std::string(text);
  sprawl_free(text);
  return out;
}

template <typename T, void (*Destroy)(T**)>
struct Deleter {
  void operator()(T* p) const { Destroy(&p); }
};

}  // namespace detail

inline std::string Version() { return sprawl_version_str(); }

// ---- logging: process-wide, as in sprawl.h ------------------------------

// A record during a log callback (a view: copy what is kept).
class LogRecord {
 public:
  explicit LogRecord(const sprawl_log_record_t* record) : record_(record) {}
  sprawl_log_level_t level() const { return sprawl_log_record_level(record_); }
  std::string_view component() const { return sprawl_log_record_component(record_); }
  std::string_view message() const { return sprawl_log_record_message(record_); }
  int64_t timestamp_ms() const { return sprawl_log_record_timestamp_ms(record_); }
  // The fields in order, "node" first when known.
  std::vector<std::pair<std::string_view, std::string_view>> fields() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    const size_t n = sprawl_log_record_field_count(record_);
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const char* key = nullptr;
      const char* value = nullptr;
      if (sprawl_log_record_field(record_, i, &key, &value) == 1) out.emplace_back(key, value);
    }
    return out;
  }
  // The value of the field `key`, if the record has it.
  std::optional<std::string_view> field(const std::string& key) const {
    const char* value = sprawl_log_record_get(record_, key.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string_view(value);
  }

 private:
  const sprawl_log_record_t* record_;
};

using LogCallback = std::function<void(const LogRecord&)>;

inline void SetLogLevel(sprawl_log_level_t level) { detail::Call(sprawl_log_set_level, level); }
inline sprawl_log_level_t LogLevel() { return sprawl_log_get_level(); }
inline uint64_t LogDropped() { return sprawl_log_dropped(); }

// Sends records to `callback` on the library's log delivery thread (an empty
// callback: back to stderr). What the callback throws is caught and
// discarded here: nothing unwinds into the library.
inline void SetLogCallback(LogCallback callback) {
  if (!callback) {
    detail::Call(sprawl_log_set_callback, sprawl_log_fn{nullptr}, static_cast<void*>(nullptr),
                 static_cast<void (*)(void*)>(nullptr));
    return;
  }
  // The library frees it (also when the call fails).
  auto* held = new LogCallback(std::move(callback));
  sprawl_error_t* error = nullptr;
  const sprawl_status_t status = sprawl_log_set_callback(
      [](void* user_data, const sprawl_log_record_t* record) {
        try {
          (*static_cast<LogCallback*>(user_data))(LogRecord(record));
        } catch (...) {
        }
      },
      held, [](void* user_data) { delete static_cast<LogCallback*>(user_data); }, &error);
  detail::Check(status, error);
}

// String settings (docs/c-api.md lists the keys of each object).
using Settings = std::map<std::string, std::string>;

// A sprawl_config_t built from Settings; throws on an unknown key or value.
class Config {
 public:
  Config() : config_(sprawl_config_new()) {
    if (!config_) throw std::bad_alloc();
  }
  explicit Config(const Settings& settings) : Config() {
    for (const auto& [key, value] : settings) Set(key, value);
  }
  Config& Set(const std::string& key, const std::string& value) {
    detail::Call(sprawl_config_set, config_.get(), key.c_str(), value.c_str());
    return *this;
  }
  const sprawl_config_t* get() const { return config_.get(); }

 private:
  std::unique_ptr<sprawl_config_t, detail::Deleter<sprawl_config_t, sprawl_config_destroy>> config_;
};

// An embedded node; stops and frees it on destruction.
class Node {
 public:
  explicit Node(const Settings& settings = {}) {
    Config config(settings);
    sprawl_node_t* node = nullptr;
    detail::Call(sprawl_node_start, config.get(), &node);
    node_.reset(node);
  }
  std::string client_address() const { return sprawl_node_client_address(node_.get()); }
  std::string http_address() const { return sprawl_node_http_address(node_.get()); }
  std::string peer_address() const { return sprawl_node_peer_address(node_.get()); }
  void Stop() { detail::Call(sprawl_node_stop, node_.get()); }

 private:
  std::unique_ptr<sprawl_node_t, detail::Deleter<sprawl_node_t, sprawl_node_destroy>> node_;
};

// A received message. Views stay valid while the Message lives.
class Message {
 public:
  explicit Message(sprawl_message_t* message) : message_(message) {}
  std::string_view topic() const { return sprawl_message_topic(message_.get()); }
  uint32_t partition() const { return sprawl_message_partition(message_.get()); }
  uint64_t offset() const { return sprawl_message_offset(message_.get()); }
  int64_t timestamp_ms() const { return sprawl_message_timestamp_ms(message_.get()); }
  uint32_t delivery_count() const { return sprawl_message_delivery_count(message_.get()); }
  std::optional<std::string_view> key() const {
    const void* data = nullptr;
    size_t len = 0;
    if (!sprawl_message_key(message_.get(), &data, &len)) return std::nullopt;
    return std::string_view(static_cast<const char*>(data), len);
  }
  std::string_view value() const {
    const void* data = nullptr;
    size_t len = 0;
    sprawl_message_value(message_.get(), &data, &len);
    return std::string_view(static_cast<const char*>(data), len);
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    const size_t n = sprawl_message_header_count(message_.get());
    for (size_t i = 0; i < n; ++i) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t len = 0;
      sprawl_message_header(message_.get(), i, &name, &value, &len);
      out.emplace_back(name, std::string_view(static_cast<const char*>(value), len));
    }
    return out;
  }
  const sprawl_message_t* get() const { return message_.get(); }

 private:
  std::unique_ptr<sprawl_message_t, detail::Deleter<sprawl_message_t, sprawl_message_destroy>>
      message_;
};

// One message to publish; the views must stay valid during the call only.
struct Record {
  std::string topic;
  std::string_view value;
  std::optional<std::string_view> key;
  std::vector<std::pair<std::string, std::string_view>> headers;
  int32_t partition = -1;  // < 0: by key, or the partition being filled
};

struct PublishAck {
  uint32_t partition = 0;
  uint64_t offset = 0;  // SPRAWL_OFFSET_UNKNOWN with acks "none"
  // False with acks "none": the node did not say where the message went.
  bool has_offset() const { return offset != SPRAWL_OFFSET_UNKNOWN; }
};

// The outcome of an asynchronous publish: an error (nullptr on success),
// the partition and the offset. Runs on a library thread, or in Poll().
// It should not throw: an exception cannot cross the C library, so one that
// escapes the callback is caught and discarded there (the publish itself is
// unaffected); catch and hand on in the callback what must be seen.
using DeliveryCallback = std::function<void(const Error*, PublishAck)>;

class Client;

// A group member or an offset reader; one thread at a time.
class Consumer {
 public:
  Consumer(Client& client, const Settings& settings);
  // The next message, or nullopt after timeout_ms (< 0: wait forever).
  std::optional<Message> Receive(int timeout_ms) {
    sprawl_message_t* message = nullptr;
    detail::Call(sprawl_consumer_receive, consumer_.get(), timeout_ms, &message);
    if (message == nullptr) return std::nullopt;
    return Message(message);
  }
  void Ack(const Message& m) { detail::Call(sprawl_consumer_ack, consumer_.get(), m.get()); }
  void Nack(const Message& m, int delay_ms = 0) {
    detail::Call(sprawl_consumer_nack, consumer_.get(), m.get(), delay_ms);
  }
  void Commit() { detail::Call(sprawl_consumer_commit, consumer_.get()); }
  void Close() { detail::Call(sprawl_consumer_close, consumer_.get()); }

 private:
  std::unique_ptr<sprawl_consumer_t, detail::Deleter<sprawl_consumer_t, sprawl_consumer_destroy>>
      consumer_;
};

// A connection to a node: admin, publish. Thread-safe.
class Client {
 public:
  explicit Client(const Settings& settings) {
    Config config(settings);
    sprawl_client_t* client = nullptr;
    detail::Call(sprawl_client_open, config.get(), &client);
    client_.reset(client);
  }

  std::string CreateTopic(const std::string& name, const Settings& settings = {}) {
    Config config(settings);
    char* json = nullptr;
    detail::Call(sprawl_topic_create, client_.get(), name.c_str(), config.get(), &json);
    return detail::TakeString(json);
  }
  std::string AlterTopic(const std::string& name, const Settings& settings) {
    Config config(settings);
    char* json = nullptr;
    detail::Call(sprawl_topic_alter, client_.get(), name.c_str(), config.get(), &json);
    return detail::TakeString(json);
  }
  std::string DescribeTopic(const std::string& name) {
    char* json = nullptr;
    detail::Call(sprawl_topic_describe, client_.get(), name.c_str(), &json);
    return detail::TakeString(json);
  }
  std::string ListTopics() {
    char* json = nullptr;
    detail::Call(sprawl_topic_list, client_.get(), &json);
    return detail::TakeString(json);
  }
  void DeleteTopic(const std::string& name) {
    detail::Call(sprawl_topic_delete, client_.get(), name.c_str());
  }
  std::string ListGroups(const std::string& topic = "") {
    char* json = nullptr;
    detail::Call(sprawl_group_list, client_.get(), topic.c_str(), &json);
    return detail::TakeString(json);
  }
  std::string DescribeGroup(const std::string& topic, const std::string& group) {
    char* json = nullptr;
    detail::Call(sprawl_group_describe, client_.get(), topic.c_str(), group.c_str(), &json);
    return detail::TakeString(json);
  }

  // Publishes and waits for the ack (timeout_ms < 0: the delivery timeout).
  PublishAck Publish(const Record& r, int timeout_ms = -1) {
    Headers h(r);
    PublishAck ack;
    detail::Call(sprawl_publish, client_.get(), r.topic.c_str(), r.partition, KeyData(r),
                 KeyLength(r), static_cast<const void*>(r.value.data()), r.value.size(),
                 h.names.data(), h.values.data(), h.lengths.data(), h.names.size(), timeout_ms,
                 &ack.partition, &ack.offset);
    return ack;
  }

  // Queues a record; `done` (may be empty) reports its outcome.
  void PublishAsync(const Record& r, DeliveryCallback done = {}) {
    Headers h(r);
    sprawl_delivery_fn fn = nullptr;
    void* user_data = nullptr;
    void (*free_user_data)(void*) = nullptr;
    if (done) {
      fn = &OnDelivery;
      user_data = new DeliveryCallback(std::move(done));
      free_user_data = [](void* p) noexcept { delete static_cast<DeliveryCallback*>(p); };
    }
    detail::Call(sprawl_publish_async, client_.get(), r.topic.c_str(), r.partition, KeyData(r),
                 KeyLength(r), static_cast<const void*>(r.value.data()), r.value.size(),
                 h.names.data(), h.values.data(), h.lengths.data(), h.names.size(), fn, user_data,
                 free_user_data);
  }

  void Flush(int timeout_ms = -1) { detail::Call(sprawl_client_flush, client_.get(), timeout_ms); }
  int Poll(int timeout_ms) { return sprawl_client_poll(client_.get(), timeout_ms); }
  void Close(int timeout_ms = -1) { detail::Call(sprawl_client_close, client_.get(), timeout_ms); }
  sprawl_client_t* get() const { return client_.get(); }

 private:
  struct Headers {
    explicit Headers(const Record& r) {
      for (const auto& [name, value] : r.headers) {
        names.push_back(name.c_str());
        values.push_back(value.data());
        lengths.push_back(value.size());
      }
    }
    std::vector<const char*> names;
    std::vector<const void*> values;
    std::vector<size_t> lengths;
  };
  static const void* KeyData(const Record& r) {
    // An empty key is still a key: give it a non-NULL pointer.
    return r.key ? static_cast<const void*>(r.key->empty() ? "" : r.key->data()) : nullptr;
  }
  static size_t KeyLength(const Record& r) { return r.key ? r.key->size() : 0; }
  // Called by the C library (extern "C" frames): nothing may unwind out.
  static void OnDelivery(void* user_data, const sprawl_error_t* error, uint32_t partition,
                         uint64_t offset) noexcept {
    try {
      auto& done = *static_cast<DeliveryCallback*>(user_data);
      if (error == nullptr) {
        done(nullptr, PublishAck{partition, offset});
        return;
      }
      Error e(sprawl_error_code(error), sprawl_error_code_name(error), sprawl_error_message(error),
              sprawl_error_retriable(error) != 0);
      done(&e, PublishAck{});
    } catch (...) {
      // Discarded, as DeliveryCallback says.
    }
  }

  std::unique_ptr<sprawl_client_t, detail::Deleter<sprawl_client_t, sprawl_client_destroy>> client_;
};

inline Consumer::Consumer(Client& client, const Settings& settings) {
  Config config(settings);
  sprawl_consumer_t* consumer = nullptr;
  detail::Call(sprawl_consumer_open, client.get(), config.get(), &consumer);
  consumer_.reset(consumer);
}

}  // namespace sprawl

#endif  // SPRAWL_SPRAWL_HPP
