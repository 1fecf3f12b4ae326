// Logging: the process-wide level and the host's log callback. Records reach the callback
// through a log::RecordQueue, so a slow or blocking callback costs the core nothing but the
// records it drops.
#include <cstring>
#include <memory>

#include "core/util/log_delivery.h"
#include "core/util/logging.h"
#include "handles.h"

struct sprawl_log_record {
  const sprawl::log::OwnedRecord* record;
};

namespace sprawl::cabi {
namespace {

constexpr size_t kDefaultQueueCapacity = 8192;

// The callback as set, with what frees its user_data once it is replaced.
struct Callback {
  sprawl_log_fn fn = nullptr;
  void* user_data = nullptr;
  void (*free_user_data)(void*) = nullptr;
};

struct LogState {
  // Serializes sprawl_log_set_callback and sprawl_log_set_level (not held while a previous
  // queue drains).
  Mutex mu;
  std::unique_ptr<log::RecordQueue> queue GUARDED_BY(mu);
  Callback callback GUARDED_BY(mu);
  std::atomic<size_t> capacity{kDefaultQueueCapacity};
  std::atomic<uint64_t> dropped{0};
};

// Set on a log delivery thread as it calls a callback: sprawl_log_set_callback refuses to run
// there, as replacing a queue joins its thread.
thread_local bool t_delivering = false;

// Leaked on purpose, like the core's logging state: core threads may still log while the
// process exits.
LogState& State() {
  static LogState* const kState = new LogState;
  return *kState;
}

// An embedded node or client prints only warnings and errors until the host says otherwise.
// Runs when the library is loaded, before any of its functions can be called.
const bool kDefaultsSet = [] {
  log::LogOptions options;
  options.level = log::Level::kWarn;
  log::Configure(options);
  return true;
}();

log::Level ToCore(sprawl_log_level_t level) { return static_cast<log::Level>(level); }

// A C caller may pass any int as a level. Its bytes are read rather than the
// enum itself: loading an out-of-range value as the C++ enum is undefined.
int RawLevel(const sprawl_log_level_t& level) {
  static_assert(sizeof(int) == sizeof(sprawl_log_level_t));
  int raw = 0;
  std::memcpy(&raw, &level, sizeof(raw));
  return raw;
}

sprawl_log_level_t FromCore(log::Level level) { return static_cast<sprawl_log_level_t>(level); }

}  // namespace
}  // namespace sprawl::cabi

extern "C" {

sprawl_status_t sprawl_log_set_level(sprawl_log_level_t level, sprawl_error_t** err) {
  using namespace sprawl::cabi;
  const int raw = RawLevel(level);
  if (raw < SPRAWL_LOG_TRACE || raw > SPRAWL_LOG_OFF) {
    return Fail(err, sprawl::InvalidArgument("unknown log level " + std::to_string(raw) +
                                             "; expected SPRAWL_LOG_TRACE to SPRAWL_LOG_OFF"));
  }
  // Under the lock that sprawl_log_set_callback holds while it reconfigures the logger with the
  // current level, so that neither change undoes the other. Never held for long.
  sprawl::MutexLock lock(State().mu);
  sprawl::log::SetLevel(ToCore(level));
  return SPRAWL_OK;
}

sprawl_log_level_t sprawl_log_get_level(void) {
  return sprawl::cabi::FromCore(sprawl::log::CurrentLevel());
}

sprawl_status_t sprawl_log_set_queue_capacity(size_t capacity, sprawl_error_t** err) {
  using namespace sprawl::cabi;
  if (capacity == 0) {
    return Fail(err, sprawl::InvalidArgument("the log queue's capacity must be at least 1"));
  }
  State().capacity.store(capacity, std::memory_order_relaxed);
  return SPRAWL_OK;
}

sprawl_status_t sprawl_log_set_callback(sprawl_log_fn fn, void* user_data,
                                        void (*free_user_data)(void*), sprawl_error_t** err) {
  using namespace sprawl::cabi;
  LogState& state = State();
  // Set once the library holds the callback; until then (a failure, or no fn to call) its
  // user_data is freed here, before the call returns.
  bool held = false;
  sprawl_status_t status = SPRAWL_OK;
  if (t_delivering) {
    // Replacing a queue joins its thread: from a callback that could wait for itself.
    status = Fail(err, sprawl::InvalidArgument(
                           "sprawl_log_set_callback cannot be called from a log callback"));
  } else {
    status = Guard(err, [&]() -> sprawl::Status {
      std::unique_ptr<sprawl::log::RecordQueue> previous_queue;
      Callback previous;
      {
        sprawl::MutexLock lock(state.mu);
        std::unique_ptr<sprawl::log::RecordQueue> queue;
        if (fn != nullptr) {
          queue = std::make_unique<sprawl::log::RecordQueue>(
              state.capacity.load(std::memory_order_relaxed),
              [fn, user_data](const sprawl::log::OwnedRecord& record) {
                t_delivering = true;
                const sprawl_log_record view{&record};
                fn(user_data, &view);
              },
              state.dropped);
        }
        sprawl::log::LogOptions options;
        options.level = sprawl::log::CurrentLevel();
        if (queue) {
          options.sink = [raw = queue.get()](const sprawl::log::Record& r) { raw->Push(r); };
        }
        // Waits for writers in flight: none reaches the previous queue once it returns.
        sprawl::log::Configure(options);
        previous_queue = std::exchange(state.queue, std::move(queue));
        previous = std::exchange(
            state.callback, fn != nullptr ? Callback{fn, user_data, free_user_data} : Callback{});
        held = fn != nullptr;
      }
      // Delivers what the previous callback still had queued and joins its thread.
      previous_queue.reset();
      if (previous.free_user_data != nullptr) previous.free_user_data(previous.user_data);
      return sprawl::Status::Ok();
    });
  }
  if (!held && free_user_data != nullptr) free_user_data(user_data);
  return status;
}

sprawl_status_t sprawl_log_write(sprawl_log_level_t level, const char* component,
                                 const char* message, sprawl_error_t** err) {
  using namespace sprawl::cabi;
  const int raw = RawLevel(level);
  if (raw < SPRAWL_LOG_TRACE || raw >= SPRAWL_LOG_OFF) {
    return Fail(err, sprawl::InvalidArgument("a record's level is SPRAWL_LOG_TRACE to "
                                             "SPRAWL_LOG_ERROR, not " +
                                             std::to_string(raw)));
  }
  return Guard(err, [&]() -> sprawl::Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(component, "component"));
    SPRAWL_ASSIGN_OR_RETURN(std::string text, StringArgument(message, "message"));
    sprawl::log::WriteFrom(name, ToCore(level), text);
    return sprawl::Status::Ok();
  });
}

uint64_t sprawl_log_dropped(void) {
  return sprawl::cabi::State().dropped.load(std::memory_order_relaxed);
}

sprawl_log_level_t sprawl_log_record_level(const sprawl_log_record_t* record) {
  if (record == nullptr) return SPRAWL_LOG_ERROR;
  return sprawl::cabi::FromCore(record->record->level);
}

const char* sprawl_log_record_component(const sprawl_log_record_t* record) {
  return record == nullptr ? "" : record->record->component.c_str();
}

const char* sprawl_log_record_message(const sprawl_log_record_t* record) {
  return record == nullptr ? "" : record->record->message.c_str();
}

int64_t sprawl_log_record_timestamp_ms(const sprawl_log_record_t* record) {
  return record == nullptr ? 0 : record->record->unix_ms;
}

size_t sprawl_log_record_field_count(const sprawl_log_record_t* record) {
  return record == nullptr ? 0 : record->record->fields.size();
}

int sprawl_log_record_field(const sprawl_log_record_t* record, size_t index, const char** key,
                            const char** value) {
  if (record == nullptr || index >= record->record->fields.size()) return 0;
  const auto& field = record->record->fields[index];
  if (key != nullptr) *key = field.first.c_str();
  if (value != nullptr) *value = field.second.c_str();
  return 1;
}

const char* sprawl_log_record_get(const sprawl_log_record_t* record, const char* key) {
  if (record == nullptr || key == nullptr) return nullptr;
  for (const auto& field : record->record->fields) {
    if (field.first == key) return field.second.c_str();
  }
  return nullptr;
}

}  // extern "C"
