// sprawl.node: the native half of the Node.js package, over the C ABI
// through sprawl.hpp. Blocking calls run on libuv's worker pool
// (Napi::AsyncWorker) and settle Promises; publish outcomes come back from
// core threads through one ThreadSafeFunction per client, referenced only
// while publishes are outstanding so that it never keeps the process alive.
// Publishing never waits: the client runs with max_block_ms=0, a publish
// refused for a full buffer says so, and the JavaScript half retries it in
// order once a completion frees space.
// Received messages cross in batches: one worker-pool trip takes what has
// arrived (batch.h), and acks and nacks come back as marks many at a time.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "batch.h"
#include "log_sink.h"
#include "sprawl/sprawl.hpp"

namespace {

// An error as a plain object the JavaScript half turns into a SprawlError.
Napi::Object ErrorObject(Napi::Env env, sprawl_status_t code, const std::string& name,
                         const std::string& message, bool retriable) {
  Napi::Object e = Napi::Object::New(env);
  e.Set("code", name);
  e.Set("codeNumber", static_cast<int>(code));
  e.Set("message", message);
  e.Set("retriable", retriable);
  return e;
}

Napi::Object ErrorObject(Napi::Env env, const sprawl::Error& e) {
  return ErrorObject(env, e.code(), e.name(), e.message(), e.retriable());
}

sprawl::Settings SettingsFrom(const Napi::Value& value) {
  sprawl::Settings out;
  if (!value.IsObject()) return out;
  Napi::Object object = value.As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString();
    Napi::Value v = object.Get(key);
    if (v.IsUndefined() || v.IsNull()) continue;
    out[key] = v.ToString();
  }
  return out;
}

// Runs `work` on the worker pool and settles a Promise with `done`'s value,
// or rejects it with the error object of a sprawl::Error.
class Task : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  static Napi::Promise Run(Napi::Env env, Work work, Done done) {
    auto* task = new Task(env, std::move(work), std::move(done));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();
    return promise;
  }

 private:
  Task(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env), deferred_(env), work_(std::move(work)), done_(std::move(done)) {}
  void Execute() override {
    try {
      work_();
    } catch (const sprawl::Error& e) {
      error_ = e;
    } catch (const std::exception& e) {
      error_ = sprawl::Error(SPRAWL_INTERNAL, "INTERNAL", e.what(), false);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (error_) {
      deferred_.Reject(ErrorObject(env, *error_));
      return;
    }
    try {
      deferred_.Resolve(done_ ? done_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::optional<sprawl::Error> error_;
};

struct Outcome {
  uint32_t id;
  std::optional<sprawl::Error> error;
  uint32_t partition;
  uint64_t offset;
};

// The client runs with max_block_ms=0: a record that does not fit in the
// producer's buffer is refused at once, and its callback runs with
// RESOURCE_EXHAUSTED on the calling thread before the publish call returns.
// While a publish call is in the C ABI the main thread points this at the
// attempt, so that callback marks the attempt instead of reporting an
// outcome; library threads never see it set.
struct Attempt {
  bool refused = false;
};
thread_local Attempt* current_attempt = nullptr;

class AttemptScope {
 public:
  explicit AttemptScope(Attempt* attempt) { current_attempt = attempt; }
  ~AttemptScope() { current_attempt = nullptr; }
  AttemptScope(const AttemptScope&) = delete;
  AttemptScope& operator=(const AttemptScope&) = delete;
};

// True when a delivery callback reports the refusal of the record being
// published on this thread right now (the buffer is full).
bool RefusedForSpace(sprawl_status_t code) {
  if (current_attempt == nullptr || code != SPRAWL_RESOURCE_EXHAUSTED) return false;
  current_attempt->refused = true;
  return true;
}

// What core threads hand to the main thread: publish outcomes, the first
// failure among bulk records, and "buffer space was freed" for publishes
// waiting in the JavaScript half. One ThreadSafeFunction call at a time is
// queued; it drains everything that arrived since the last.
struct Shared {
  std::mutex mu;
  std::vector<Outcome> outcomes;              // guarded by mu
  std::optional<sprawl::Error> bulk_failure;  // guarded by mu; flush reports it
  bool call_queued = false;                   // guarded by mu
  // Records that completed. A completion frees buffer space before its
  // callback runs (Producer::OnReply), so a refused publish may be retried
  // once the count moves.
  std::atomic<uint64_t> completed{0};
  // Set after a refusal: the next completion wakes the main thread.
  std::atomic<bool> space_wanted{false};
  Napi::ThreadSafeFunction tsfn;

  // Queues one call of the JavaScript half unless one is queued. Any thread.
  void Wake() {
    {
      std::lock_guard lock(mu);
      if (call_queued) return;
      call_queued = true;
    }
    // "Outcomes are ready": the JavaScript half calls takeOutcomes().
    tsfn.NonBlockingCall([](Napi::Env, Napi::Function js) { js.Call({}); });
  }

  // A record completed: `outcome` for a publish() record, `bulk_error` for a
  // failed publishMany() record (both null: a stored publishMany() record).
  // Core threads; the bulk success path takes no lock.
  void Complete(Outcome* outcome, const sprawl::Error* bulk_error) {
    completed.fetch_add(1);
    const bool wake = space_wanted.load() && space_wanted.exchange(false);
    if (outcome == nullptr && bulk_error == nullptr && !wake) return;
    bool call = false;
    {
      std::lock_guard lock(mu);
      if (outcome != nullptr) outcomes.push_back(std::move(*outcome));
      if (bulk_error != nullptr && !bulk_failure) bulk_failure = *bulk_error;
      if (outcome != nullptr || wake) {
        call = !call_queued;
        call_queued = true;
      }
    }
    if (call) tsfn.NonBlockingCall([](Napi::Env, Napi::Function js) { js.Call({}); });
  }

  // After a refusal on the main thread: arranges a wake-up once space frees.
  // `before` is the completion count read before the attempt; if it moved, a
  // completion may have freed space without seeing space_wanted, so wake now.
  void WaitForSpace(uint64_t before) {
    space_wanted.store(true);
    if (completed.load() != before) Wake();
  }
};

// The delivery callback of publishMany() records: no allocation per record.
void OnBulkDelivery(void* user_data, const sprawl_error_t* error, uint32_t, uint64_t) {
  auto* shared = static_cast<Shared*>(user_data);
  if (error == nullptr) {
    shared->Complete(nullptr, nullptr);
    return;
  }
  if (RefusedForSpace(sprawl_error_code(error))) return;
  const sprawl::Error e(sprawl_error_code(error), sprawl_error_code_name(error),
                        sprawl_error_message(error), sprawl_error_retriable(error) != 0);
  shared->Complete(nullptr, &e);
}

class Client : public Napi::ObjectWrap<Client> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Client",
        {InstanceMethod("admin", &Client::Admin), InstanceMethod("publish", &Client::Publish),
         InstanceMethod("takeOutcomes", &Client::TakeOutcomes),
         InstanceMethod("publishMany", &Client::PublishMany), InstanceMethod("hold", &Client::Hold),
         InstanceMethod("flush", &Client::Flush), InstanceMethod("close", &Client::Close)});
  }

  // new Client(settings, onOutcomes): onOutcomes() runs on the main thread when
  // outcomes are ready for takeOutcomes() or buffer space was freed.
  explicit Client(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Client>(info) {
    Napi::Env env = info.Env();
    shared_ = std::make_shared<Shared>();
    try {
      // The deleter keeps `shared` alive until the native client is gone:
      // bulk callbacks hold it by a plain pointer, and none runs after that.
      std::shared_ptr<Shared> shared = shared_;
      client_ = std::shared_ptr<sprawl::Client>(new sprawl::Client(SettingsFrom(info[0])),
                                                [shared](sprawl::Client* c) { delete c; });
    } catch (const sprawl::Error& e) {
      Napi::Error error = Napi::Error::New(env, e.message());
      error.Set("native", ErrorObject(env, e));
      throw error;
    }
    shared_->tsfn =
        Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "sprawl-publish", 0, 1);
    shared_->tsfn.Unref(env);
  }

  std::shared_ptr<sprawl::Client> client() const { return client_; }

 private:
  // admin(op, ...args) -> Promise<string|undefined>
  Napi::Value Admin(const Napi::CallbackInfo& info) {
    const std::string op = info[0].ToString();
    std::vector<std::string> args;
    for (size_t i = 1; i < info.Length() && !info[i].IsObject(); ++i) {
      args.push_back(info[i].ToString());
    }
    sprawl::Settings settings = info.Length() > 1 && info[info.Length() - 1].IsObject()
                                    ? SettingsFrom(info[info.Length() - 1])
                                    : sprawl::Settings{};
    auto client = client_;
    auto result = std::make_shared<std::string>();
    auto arg = [args](size_t i) { return i < args.size() ? args[i] : std::string(); };
    return Task::Run(
        info.Env(),
        [client, op, arg, settings, result] {
          if (op == "createTopic")
            *result = client->CreateTopic(arg(0), settings);
          else if (op == "alterTopic")
            *result = client->AlterTopic(arg(0), settings);
          else if (op == "describeTopic")
            *result = client->DescribeTopic(arg(0));
          else if (op == "listTopics")
            *result = client->ListTopics();
          else if (op == "deleteTopic")
            client->DeleteTopic(arg(0));
          else if (op == "listGroups")
            *result = client->ListGroups(arg(0));
          else if (op == "describeGroup")
            *result = client->DescribeGroup(arg(0), arg(1));
          else
            throw sprawl::Error(SPRAWL_INVALID_ARGUMENT, "INVALID_ARGUMENT",
                                "unknown admin call " + op, false);
        },
        [result](Napi::Env env) -> Napi::Value {
          return result->empty() ? env.Undefined() : Napi::String::New(env, *result);
        });
  }

  // publish(id, topic, value, key|null, headers [[name, Buffer]], partition):
  // queues one record, whose outcome comes back through onOutcomes with `id`.
  // Returns undefined when queued, false when the buffer is full (nothing was
  // queued; onOutcomes runs once space frees), or an error object.
  Napi::Value Publish(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    sprawl::Record r;
    r.topic = info[1].ToString();
    Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
    r.value = std::string_view(value.Data(), value.Length());
    std::string key;
    if (info[3].IsBuffer()) {
      Napi::Buffer<char> k = info[3].As<Napi::Buffer<char>>();
      key.assign(k.Data(), k.Length());
      r.key = std::string_view(key);
    }
    std::vector<std::string> header_values;
    if (info[4].IsArray()) {
      Napi::Array headers = info[4].As<Napi::Array>();
      header_values.reserve(headers.Length());
      for (uint32_t i = 0; i < headers.Length(); ++i) {
        Napi::Array pair = headers.Get(i).As<Napi::Array>();
        Napi::Buffer<char> v = pair.Get(1u).As<Napi::Buffer<char>>();
        header_values.emplace_back(v.Data(), v.Length());
        r.headers.emplace_back(pair.Get(0u).ToString(), header_values.back());
      }
    }
    r.partition = info[5].As<Napi::Number>().Int32Value();
    auto shared = shared_;
    Attempt attempt;
    const uint64_t before = shared_->completed.load();
    try {
      AttemptScope scope(&attempt);
      client_->PublishAsync(r, [shared, id](const sprawl::Error* error, sprawl::PublishAck ack) {
        if (error != nullptr && RefusedForSpace(error->code())) return;
        Outcome outcome{id, error ? std::optional(*error) : std::nullopt, ack.partition,
                        ack.offset};
        shared->Complete(&outcome, nullptr);
      });
    } catch (const sprawl::Error& e) {
      return ErrorObject(env, e);
    }
    if (attempt.refused) {
      shared_->WaitForSpace(before);
      return Napi::Boolean::New(env, false);
    }
    ++outstanding_;
    UpdateRef(env);
    return env.Undefined();
  }

  // publishMany(topic, [Buffer...], key|null, start) -> the index of the first
  // value not queued, or an error object. Queues values from `start` on with
  // no JavaScript callback each (flush reports the first failure), the fast
  // path for bulk loads; stops where the buffer is full (onOutcomes runs once
  // space frees), so a return below values.length means "retry from there".
  Napi::Value PublishMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string topic = info[0].ToString();
    Napi::Array values = info[1].As<Napi::Array>();
    std::string key;
    const bool has_key = info[2].IsBuffer();
    if (has_key) {
      Napi::Buffer<char> k = info[2].As<Napi::Buffer<char>>();
      key.assign(k.Data(), k.Length());
    }
    // An empty key is still a key: give it a non-NULL pointer.
    const void* key_data = has_key ? static_cast<const void*>(key.c_str()) : nullptr;
    const uint32_t count = values.Length();
    uint32_t i = info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
    Attempt attempt;
    try {
      AttemptScope scope(&attempt);
      for (; i < count; ++i) {
        Napi::Value v = values.Get(i);
        if (!v.IsBuffer()) throw Napi::TypeError::New(env, "publishMany takes Buffers");
        Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
        const uint64_t before = shared_->completed.load();
        sprawl::detail::Call(
            sprawl_publish_async, client_->get(), topic.c_str(), int32_t{-1}, key_data, key.size(),
            static_cast<const void*>(b.Data()), b.Length(),
            static_cast<const char* const*>(nullptr), static_cast<const void* const*>(nullptr),
            static_cast<const size_t*>(nullptr), size_t{0}, &OnBulkDelivery,
            static_cast<void*>(shared_.get()), static_cast<void (*)(void*)>(nullptr));
        if (attempt.refused) {
          shared_->WaitForSpace(before);
          break;
        }
      }
    } catch (const sprawl::Error& e) {
      return ErrorObject(env, e);
    }
    return Napi::Number::New(env, i);
  }

  // hold(waiting): the JavaScript half has publishes waiting for buffer space
  // (true) or none any more (false); while it has, the process stays alive.
  Napi::Value Hold(const Napi::CallbackInfo& info) {
    holding_ = info[0].ToBoolean();
    UpdateRef(info.Env());
    return info.Env().Undefined();
  }

  // takeOutcomes() -> [[id, error|null, partition, offset], ...]: what has
  // completed since the last call.
  Napi::Value TakeOutcomes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<Outcome> items;
    {
      std::lock_guard lock(shared_->mu);
      items.swap(shared_->outcomes);
      shared_->call_queued = false;
    }
    outstanding_ -= std::min<uint32_t>(outstanding_, static_cast<uint32_t>(items.size()));
    UpdateRef(env);
    Napi::Array batch = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      const Outcome& o = items[i];
      Napi::Array entry = Napi::Array::New(env, 4);
      entry.Set(0u, o.id);
      entry.Set(1u, o.error ? Napi::Value(ErrorObject(env, *o.error)) : env.Null());
      entry.Set(2u, o.partition);
      // null with acks 'none': the node sent no offset (SPRAWL_OFFSET_UNKNOWN).
      entry.Set(3u, o.offset == SPRAWL_OFFSET_UNKNOWN
                        ? env.Null()
                        : Napi::Value(Napi::Number::New(env, static_cast<double>(o.offset))));
      batch.Set(static_cast<uint32_t>(i), entry);
    }
    return batch;
  }

  // Waits for everything queued so far, then rejects with the first failure
  // among publishMany() records since the last flush.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    auto client = client_;
    auto shared = shared_;
    const int timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
    return Task::Run(
        info.Env(),
        [client, shared, timeout] {
          client->Flush(timeout);
          std::optional<sprawl::Error> failure;
          {
            std::lock_guard lock(shared->mu);
            failure.swap(shared->bulk_failure);
          }
          if (failure) throw *failure;
        },
        nullptr);
  }

  // Flushes and closes; the thread-safe function is released afterwards, so
  // nothing of the client holds the process once the Promise settles.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto client = client_;
    const int timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
    return Task::Run(
        info.Env(), [client, timeout] { client->Close(timeout); },
        [this](Napi::Env env) -> Napi::Value {
          if (!released_) {
            released_ = true;
            shared_->tsfn.Release();
          }
          return env.Undefined();
        });
  }

  // The thread-safe function holds the process only while publish() records
  // are outstanding or publishes wait for buffer space.
  void UpdateRef(Napi::Env env) {
    const bool want = outstanding_ > 0 || holding_;
    if (released_ || want == referenced_) return;
    referenced_ = want;
    if (want) {
      shared_->tsfn.Ref(env);
    } else {
      shared_->tsfn.Unref(env);
    }
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<sprawl::Client> client_;
  uint32_t outstanding_ = 0;  // main thread only
  bool holding_ = false;      // main thread only
  bool referenced_ = false;   // main thread only
  bool released_ = false;     // main thread only
};

// The JavaScript view of a received batch: {topic, table, headerTable,
// bytes, handle} (the layout of batch.h), with the native messages behind
// `handle` for ack and nack. Copies the bytes and numbers once into memory V8
// manages and lets go of them natively; the messages stay until all are
// settled or the batch is collected, and V8 is told roughly what they hold
// (their bytes again, plus some 256 bytes of bookkeeping each) so that it
// collects in time.
Napi::Object BatchObject(Napi::Env env, std::unique_ptr<sprawl_addon::Batch> batch) {
  using sprawl_addon::Batch;
  Napi::Object o = Napi::Object::New(env);
  o.Set("topic", batch->topic);
  Napi::Float64Array table = Napi::Float64Array::New(env, batch->table.size());
  std::copy(batch->table.begin(), batch->table.end(), table.Data());
  o.Set("table", table);
  if (batch->header_table.empty()) {
    o.Set("headerTable", env.Null());
  } else {
    Napi::Float64Array headers = Napi::Float64Array::New(env, batch->header_table.size());
    std::copy(batch->header_table.begin(), batch->header_table.end(), headers.Data());
    o.Set("headerTable", headers);
  }
  o.Set("bytes", Napi::Buffer<char>::Copy(env, batch->bytes.data(), batch->bytes.size()));
  batch->external = static_cast<int64_t>(batch->bytes.size() + batch->size() * 256);
  std::vector<char>().swap(batch->bytes);
  std::vector<double>().swap(batch->table);
  std::vector<double>().swap(batch->header_table);
  Napi::MemoryManagement::AdjustExternalMemory(env, batch->external);
  o.Set("handle", Napi::External<Batch>::New(env, batch.release(), [](Napi::Env e, Batch* b) {
          Napi::MemoryManagement::AdjustExternalMemory(e, -b->external);
          delete b;
        }));
  return o;
}

// Frees a batch's native messages once every one is settled: nothing needs
// them after that, and the JavaScript messages may live on much longer.
void ReleaseSettled(Napi::Env env, sprawl_addon::Batch& batch) {
  if (batch.messages.empty() || batch.settled < batch.messages.size()) return;
  std::vector<sprawl::Message>().swap(batch.messages);
  Napi::MemoryManagement::AdjustExternalMemory(env, -batch.external);
  batch.external = 0;
}

// The settle marks index.js writes into a batch's Int32Array, one a message.
enum SettleMark : int32_t { kOpen = 0, kAckWanted = -1, kSettled = -2 };
// A mark >= 1 asks for a nack with a delay of mark - 1 ms.

class Consumer : public Napi::ObjectWrap<Consumer> {
 public:
  static Napi::FunctionReference* constructor;

  static Napi::Function Define(Napi::Env env) {
    Napi::Function f = DefineClass(
        env, "Consumer",
        {InstanceMethod("receiveMany", &Consumer::ReceiveMany),
         InstanceMethod("settle", &Consumer::Settle), InstanceMethod("commit", &Consumer::Commit),
         InstanceMethod("close", &Consumer::Close)});
    constructor = new Napi::FunctionReference(Napi::Persistent(f));
    return f;
  }

  explicit Consumer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Consumer>(info) {
    // Built by openConsumer with the native consumer in an External.
    auto* made = info[0].As<Napi::External<std::shared_ptr<sprawl::Consumer>>>().Data();
    consumer_ = *made;
    delete made;
  }

 private:
  // receiveMany(max, timeoutMs) -> Promise<batch|null>: one trip to the
  // worker pool waits up to timeoutMs for a first message, then takes what
  // else has already arrived, up to `max` in all (null: none in time). An
  // error after the first message ends the batch early; the next call
  // reports it.
  Napi::Value ReceiveMany(const Napi::CallbackInfo& info) {
    auto consumer = consumer_;
    const size_t max = std::max<uint32_t>(1, info[0].As<Napi::Number>().Uint32Value());
    const int timeout = info[1].As<Napi::Number>().Int32Value();
    auto batch = std::make_shared<std::unique_ptr<sprawl_addon::Batch>>();
    return Task::Run(
        info.Env(),
        [consumer, max, timeout, batch] {
          std::optional<sprawl::Message> first = consumer->Receive(timeout);
          if (!first) return;
          auto b = std::make_unique<sprawl_addon::Batch>();
          b->messages.reserve(max);
          b->table.reserve(max * sprawl_addon::kFields);
          b->Add(std::move(*first));
          try {
            while (b->size() < max) {
              std::optional<sprawl::Message> next = consumer->Receive(0);
              if (!next) break;
              b->Add(std::move(*next));
            }
          } catch (const sprawl::Error&) {
            // Deliver what arrived; the consumer reports the error again.
          }
          *batch = std::move(b);
        },
        [batch](Napi::Env env) -> Napi::Value {
          if (!*batch) return env.Null();
          return BatchObject(env, std::move(*batch));
        });
  }

  // settle(handle, marks, from, to): acks or nacks the messages of a batch
  // whose marks in [from, to) ask for it, and marks them settled. Returns
  // the first error (the rest are still settled where possible).
  Napi::Value Settle(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::optional<sprawl::Error> first_error;
    auto* batch = info[0].As<Napi::External<sprawl_addon::Batch>>().Data();
    Napi::Int32Array marks = info[1].As<Napi::Int32Array>();
    const size_t n = std::min(marks.ElementLength(), batch->size());
    const size_t from = info[2].As<Napi::Number>().Uint32Value();
    const size_t to = std::min<size_t>(n, info[3].As<Napi::Number>().Uint32Value());
    int32_t* mark = marks.Data();
    for (size_t i = from; i < to; ++i) {
      if (mark[i] == kOpen || mark[i] == kSettled) continue;
      try {
        if (mark[i] == kAckWanted) {
          consumer_->Ack(batch->messages[i]);
        } else {
          consumer_->Nack(batch->messages[i], mark[i] - 1);
        }
      } catch (const sprawl::Error& e) {
        if (!first_error) first_error = e;
      }
      mark[i] = kSettled;
      ++batch->settled;
    }
    ReleaseSettled(env, *batch);
    if (first_error) return ErrorObject(env, *first_error);
    return env.Undefined();
  }

  Napi::Value Commit(const Napi::CallbackInfo& info) {
    auto consumer = consumer_;
    return Task::Run(
        info.Env(), [consumer] { consumer->Commit(); }, nullptr);
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto consumer = consumer_;
    return Task::Run(
        info.Env(), [consumer] { consumer->Close(); }, nullptr);
  }

  std::shared_ptr<sprawl::Consumer> consumer_;
};

Napi::FunctionReference* Consumer::constructor = nullptr;

// openConsumer(client, settings) -> Promise<Consumer>: joining a group waits
// for the node, so it runs on the worker pool.
Napi::Value OpenConsumer(const Napi::CallbackInfo& info) {
  std::shared_ptr<sprawl::Client> client =
      Napi::ObjectWrap<Client>::Unwrap(info[0].As<Napi::Object>())->client();
  sprawl::Settings settings = SettingsFrom(info[1]);
  auto made = std::make_shared<std::shared_ptr<sprawl::Consumer>>();
  return Task::Run(
      info.Env(),
      [client, settings, made] { *made = std::make_shared<sprawl::Consumer>(*client, settings); },
      [made](Napi::Env env) -> Napi::Value {
        auto* handoff = new std::shared_ptr<sprawl::Consumer>(*made);
        return Consumer::constructor->New(
            {Napi::External<std::shared_ptr<sprawl::Consumer>>::New(env, handoff)});
      });
}

// startNode(settings) -> Promise<{clientAddress, httpAddress, stop()}>.
Napi::Value StartNode(const Napi::CallbackInfo& info) {
  sprawl::Settings settings = SettingsFrom(info[0]);
  auto node = std::make_shared<std::shared_ptr<sprawl::Node>>();
  return Task::Run(
      info.Env(), [settings, node] { *node = std::make_shared<sprawl::Node>(settings); },
      [node](Napi::Env env) -> Napi::Value {
        std::shared_ptr<sprawl::Node> n = *node;
        Napi::Object o = Napi::Object::New(env);
        o.Set("clientAddress", n->client_address());
        o.Set("httpAddress", n->http_address());
        o.Set("peerAddress", n->peer_address());
        o.Set("stop", Napi::Function::New(env, [n](const Napi::CallbackInfo& call) {
                return Task::Run(
                    call.Env(), [n] { n->Stop(); }, nullptr);
              }));
        return o;
      });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, sprawl::Version()));
  exports.Set("Client", Client::Define(env));
  exports.Set("Consumer", Consumer::Define(env));
  exports.Set("openConsumer", Napi::Function::New(env, OpenConsumer));
  exports.Set("startNode", Napi::Function::New(env, StartNode));
  exports.Set("setLogSink", Napi::Function::New(env, sprawl_addon::LogSink::Set));
  exports.Set("logStats", Napi::Function::New(env, sprawl_addon::LogSink::Stats));
  exports.Set(
      "setLogLevel", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
        sprawl_error_t* err = nullptr;
        const int level = info[0].As<Napi::Number>().Int32Value();
        if (sprawl_log_set_level(static_cast<sprawl_log_level_t>(level), &err) != SPRAWL_OK) {
          std::string message = sprawl_error_message(err);
          sprawl_error_destroy(&err);
          throw Napi::RangeError::New(info.Env(), message);
        }
      }));
  exports.Set("getLogLevel", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), static_cast<int>(sprawl_log_get_level()));
              }));
  exports.Set("logWrite", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                sprawl_error_t* err = nullptr;
                const int level = info[0].As<Napi::Number>().Int32Value();
                const std::string component = info[1].ToString();
                const std::string message = info[2].ToString();
                if (sprawl_log_write(static_cast<sprawl_log_level_t>(level), component.c_str(),
                                     message.c_str(), &err) != SPRAWL_OK) {
                  std::string text = sprawl_error_message(err);
                  sprawl_error_destroy(&err);
                  throw Napi::RangeError::New(info.Env(), text);
                }
              }));
  return exports;
}

NODE_API_MODULE(sprawl, Init)
