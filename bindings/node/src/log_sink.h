// The library's log records on the JavaScript main thread. The library calls
// OnRecord on its log delivery thread (never a core thread); records are
// copied into a bounded batch and one ThreadSafeFunction call at a time
// hands the whole batch to JavaScript, so a busy event loop costs one queued
// call, not one per record. Records beyond the batch's bound are dropped and
// counted. Records below the level never leave the core.
#pragma once

#include <napi.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sprawl/sprawl.h"

namespace sprawl_addon {

class LogSink {
 public:
  // setLogSink(fn | null, capacity): fn(records) runs on the main thread with
  // an array of {level, component, message, timestampMs, fields}; null goes
  // back to the library's stderr output. At most `capacity` records wait for
  // the main thread.
  static Napi::Value Set(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Clear();
    if (info.Length() == 0 || !info[0].IsFunction()) return env.Undefined();
    size_t capacity = kDefaultCapacity;
    if (info.Length() > 1 && info[1].IsNumber()) {
      const int64_t asked = info[1].As<Napi::Number>().Int64Value();
      if (asked > 0) capacity = static_cast<size_t>(asked);
    }
    auto sink = std::make_shared<LogSink>();
    sink->capacity_ = capacity;
    sink->tsfn_ =
        Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "sprawl-log", 0, 1);
    // Logging never keeps the process alive.
    sink->tsfn_.Unref(env);
    {
      std::lock_guard lock(current_mu_);
      current_ = sink;
    }
    // Whichever comes first, setLogSink(null) or the environment's teardown,
    // detaches the library's callback before the function goes away.
    static bool hook_added = false;
    if (!hook_added) {
      hook_added = true;
      napi_add_env_cleanup_hook(
          env, [](void*) { Clear(); }, nullptr);
    }
    // The library holds a reference of its own until the callback is replaced.
    auto* held = new std::shared_ptr<LogSink>(sink);
    sprawl_error_t* err = nullptr;
    if (sprawl_log_set_callback(&OnRecord, held, &Release, &err) != SPRAWL_OK) {
      std::string message = sprawl_error_message(err);
      sprawl_error_destroy(&err);
      throw Napi::Error::New(env, message);
    }
    return env.Undefined();
  }

  // The number of records of each level (trace .. error) that reached
  // JavaScript, and of those dropped here because the main thread lagged.
  static Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array crossed = Napi::Array::New(env, crossed_.size());
    for (size_t i = 0; i < crossed_.size(); ++i) {
      crossed.Set(static_cast<uint32_t>(i),
                  static_cast<double>(crossed_[i].load(std::memory_order_relaxed)));
    }
    out.Set("crossed", crossed);
    out.Set("dropped",
            static_cast<double>(sprawl_log_dropped() + dropped_.load(std::memory_order_relaxed)));
    return out;
  }

 private:
  struct Entry {
    int level;
    std::string component;
    std::string message;
    int64_t timestamp_ms;
    std::vector<std::pair<std::string, std::string>> fields;
  };

  static constexpr size_t kDefaultCapacity = 8192;

  // Detaches the library's callback (delivering what it had queued) and
  // releases the function. Main thread.
  static void Clear() {
    (void)sprawl_log_set_callback(nullptr, nullptr, nullptr, nullptr);
    std::shared_ptr<LogSink> sink;
    {
      std::lock_guard lock(current_mu_);
      sink = std::move(current_);
    }
    if (sink) sink->tsfn_.Release();
  }

  static void Release(void* held) { delete static_cast<std::shared_ptr<LogSink>*>(held); }

  // The library's log delivery thread.
  static void OnRecord(void* held, const sprawl_log_record_t* record) {
    LogSink& sink = **static_cast<std::shared_ptr<LogSink>*>(held);
    Entry entry;
    entry.level = static_cast<int>(sprawl_log_record_level(record));
    entry.component = sprawl_log_record_component(record);
    entry.message = sprawl_log_record_message(record);
    entry.timestamp_ms = sprawl_log_record_timestamp_ms(record);
    const size_t count = sprawl_log_record_field_count(record);
    for (size_t i = 0; i < count; ++i) {
      const char* key = nullptr;
      const char* value = nullptr;
      if (sprawl_log_record_field(record, i, &key, &value) == 1) {
        entry.fields.emplace_back(key, value);
      }
    }
    bool call = false;
    {
      std::lock_guard lock(sink.mu_);
      if (sink.batch_.size() >= sink.capacity_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      sink.batch_.push_back(std::move(entry));
      call = !sink.call_queued_;
      sink.call_queued_ = true;
    }
    if (!call) return;
    // The main thread takes the batch there is when the call runs (the sink
    // stays alive for it even if it was replaced meanwhile).
    std::shared_ptr<LogSink> keep = *static_cast<std::shared_ptr<LogSink>*>(held);
    napi_status queued = sink.tsfn_.NonBlockingCall([keep](Napi::Env env, Napi::Function js) {
      LogSink* self = keep.get();
      std::vector<Entry> batch;
      {
        std::lock_guard lock(self->mu_);
        batch.swap(self->batch_);
        self->call_queued_ = false;
      }
      Napi::Array records = Napi::Array::New(env, batch.size());
      for (size_t i = 0; i < batch.size(); ++i) {
        const Entry& e = batch[i];
        Napi::Object r = Napi::Object::New(env);
        r.Set("level", e.level);
        r.Set("component", e.component);
        r.Set("message", e.message);
        r.Set("timestampMs", static_cast<double>(e.timestamp_ms));
        Napi::Object fields = Napi::Object::New(env);
        for (const auto& [key, value] : e.fields) fields.Set(key, value);
        r.Set("fields", fields);
        records.Set(static_cast<uint32_t>(i), r);
        if (e.level >= 0 && e.level < static_cast<int>(crossed_.size())) {
          crossed_[static_cast<size_t>(e.level)].fetch_add(1, std::memory_order_relaxed);
        }
      }
      try {
        js.Call({records});
      } catch (const Napi::Error&) {
        // The JavaScript half catches what a logger throws; nothing more to do here.
      }
    });
    if (queued != napi_ok) {
      // The environment is closing: nobody will take the batch.
      std::lock_guard lock(sink.mu_);
      dropped_.fetch_add(sink.batch_.size(), std::memory_order_relaxed);
      sink.batch_.clear();
      sink.call_queued_ = false;
    }
  }

  std::mutex mu_;
  std::vector<Entry> batch_;  // guarded by mu_
  bool call_queued_ = false;  // guarded by mu_
  size_t capacity_ = kDefaultCapacity;
  Napi::ThreadSafeFunction tsfn_;

  static inline std::mutex current_mu_;
  static inline std::shared_ptr<LogSink> current_;  // guarded by current_mu_
  static inline std::atomic<uint64_t> dropped_{0};
  static inline std::array<std::atomic<uint64_t>, 5> crossed_{};
};

}  // namespace sprawl_addon
