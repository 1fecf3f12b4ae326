// libsprawl_jni.so: the JNI half of the Java binding (io.sprawl.Native), over
// the C ABI through sprawl.hpp. Classes and method ids are cached in
// JNI_OnLoad; core threads that complete publish futures attach themselves
// once and detach at their own exit (a thread_local guard), and every
// callback frees its local references with a local frame.
//
// Strings cross as standard UTF-8, the encoding the C ABI takes and returns,
// converted by the JDK's own codec (String.getBytes(UTF_8) and
// new String(bytes, UTF_8)). JNI's GetStringUTFChars/NewStringUTF are not
// used: their modified UTF-8 writes a character outside the BMP as two
// encoded surrogates, which the C ABI rightly refuses as invalid UTF-8.
#include <jni.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sprawl/sprawl.hpp"

namespace {

JavaVM* g_vm = nullptr;
jclass g_exception = nullptr;  // io.sprawl.SprawlException
jmethodID g_exception_init = nullptr;
jclass g_ack = nullptr;  // io.sprawl.PublishAck
jmethodID g_ack_init = nullptr;
jclass g_future = nullptr;  // java.util.concurrent.CompletableFuture
jmethodID g_future_complete = nullptr;
jmethodID g_future_fail = nullptr;
jclass g_string = nullptr;
jmethodID g_string_init = nullptr;       // String(byte[], Charset)
jmethodID g_string_get_bytes = nullptr;  // String.getBytes(Charset)
jobject g_utf8 = nullptr;                // StandardCharsets.UTF_8
jclass g_bytes = nullptr;                // byte[]
jclass g_object = nullptr;
jclass g_logging = nullptr;  // io.sprawl.Logging
jmethodID g_logging_deliver = nullptr;

// A JNI call failed and left a Java exception pending (an OutOfMemoryError):
// Guarded returns at once so that exception reaches the Java caller.
struct JavaPending {};

template <typename T>
T NotNull(T ref) {
  if (ref == nullptr) throw JavaPending{};
  return ref;
}

jclass GlobalClass(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (local == nullptr) return nullptr;
  auto global = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  return global;
}

std::string Bytes(JNIEnv* env, jbyteArray a) {
  std::string out(static_cast<size_t>(env->GetArrayLength(a)), '\0');
  env->GetByteArrayRegion(a, 0, static_cast<jsize>(out.size()),
                          reinterpret_cast<jbyte*>(out.data()));
  return out;
}

// A new byte[] holding `bytes`; throws JavaPending when out of memory.
jbyteArray ByteArray(JNIEnv* env, std::string_view bytes) {
  jbyteArray a = NotNull(env->NewByteArray(static_cast<jsize>(bytes.size())));
  env->SetByteArrayRegion(a, 0, static_cast<jsize>(bytes.size()),
                          reinterpret_cast<const jbyte*>(bytes.data()));
  return a;
}

// A Java String as standard UTF-8 (null: empty). An unpaired surrogate, which
// no UTF-8 can carry, becomes '?' (the JDK encoder's replacement).
std::string Utf8(JNIEnv* env, jstring s) {
  if (s == nullptr) return std::string();
  auto bytes =
      static_cast<jbyteArray>(NotNull(env->CallObjectMethod(s, g_string_get_bytes, g_utf8)));
  std::string out = Bytes(env, bytes);
  env->DeleteLocalRef(bytes);
  return out;
}

// A Java String decoded from UTF-8 (malformed input becomes U+FFFD); throws
// JavaPending when out of memory.
jstring JavaString(JNIEnv* env, std::string_view utf8) {
  jbyteArray bytes = ByteArray(env, utf8);
  auto s = static_cast<jstring>(env->NewObject(g_string, g_string_init, bytes, g_utf8));
  env->DeleteLocalRef(bytes);
  return NotNull(s);
}

// A SprawlException for `e`, or nullptr with a Java exception pending.
jobject NewException(JNIEnv* env, const sprawl::Error& e) {
  try {
    jstring code = JavaString(env, e.name());
    jstring message = JavaString(env, e.message());
    jobject ex = env->NewObject(g_exception, g_exception_init, code, static_cast<jint>(e.code()),
                                message, static_cast<jboolean>(e.retriable()));
    env->DeleteLocalRef(code);
    env->DeleteLocalRef(message);
    return ex;
  } catch (const JavaPending&) {
    return nullptr;
  }
}

void Throw(JNIEnv* env, const sprawl::Error& e) {
  jobject ex = NewException(env, e);
  if (ex != nullptr) env->Throw(static_cast<jthrowable>(ex));
}

sprawl::Error Invalid(const std::string& message) {
  return sprawl::Error(SPRAWL_INVALID_ARGUMENT, "INVALID_ARGUMENT", message, false);
}

// Runs `body`, turning sprawl::Error into a pending SprawlException.
template <typename T, typename Body>
T Guarded(JNIEnv* env, T fallback, Body&& body) {
  try {
    return body();
  } catch (const JavaPending&) {
    // The Java exception is already pending.
  } catch (const sprawl::Error& e) {
    Throw(env, e);
  } catch (const std::exception& e) {
    Throw(env, sprawl::Error(SPRAWL_INTERNAL, "INTERNAL", e.what(), false));
  }
  return fallback;
}

template <typename T>
T* Handle(JNIEnv* env, jlong handle, const char* what) {
  if (handle == 0) {
    Throw(env, sprawl::Error(SPRAWL_CLOSED, "CLOSED", std::string(what) + " is closed", false));
    return nullptr;
  }
  return reinterpret_cast<T*>(handle);
}

sprawl::Settings SettingsFrom(JNIEnv* env, jobjectArray flat) {
  sprawl::Settings out;
  if (flat == nullptr) return out;
  const jsize n = env->GetArrayLength(flat);
  for (jsize i = 0; i + 1 < n; i += 2) {
    auto k = static_cast<jstring>(env->GetObjectArrayElement(flat, i));
    auto v = static_cast<jstring>(env->GetObjectArrayElement(flat, i + 1));
    out[Utf8(env, k)] = Utf8(env, v);
    env->DeleteLocalRef(k);
    env->DeleteLocalRef(v);
  }
  return out;
}

// Attaches a core thread to the JVM on first use and detaches it when the
// thread ends: only the attacher detaches.
class AttachedThread {
 public:
  JNIEnv* env() {
    if (env_ == nullptr) {
      if (g_vm->GetEnv(reinterpret_cast<void**>(&env_), JNI_VERSION_1_8) == JNI_EDETACHED) {
        JavaVMAttachArgs args{JNI_VERSION_1_8, const_cast<char*>("sprawl-core"), nullptr};
        if (g_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void**>(&env_), &args) == JNI_OK) {
          attached_ = true;
        }
      }
    }
    return env_;
  }
  ~AttachedThread() {
    if (attached_) g_vm->DetachCurrentThread();
  }

 private:
  JNIEnv* env_ = nullptr;
  bool attached_ = false;
};

thread_local AttachedThread t_attached;

// Completes `future` with where the message landed or with its error. Runs on
// a core thread; `topic` is the Java string the message was published to.
void CompleteFuture(JNIEnv* env, jobject future, jobject topic, const sprawl::Error* error,
                    sprawl::PublishAck ack) {
  if (env->PushLocalFrame(8) != JNI_OK) {
    env->ExceptionClear();
    return;
  }
  jobject outcome = error == nullptr
                        ? env->NewObject(g_ack, g_ack_init, topic, static_cast<jint>(ack.partition),
                                         static_cast<jlong>(ack.offset))
                        : NewException(env, *error);
  if (outcome != nullptr) {
    env->CallBooleanMethod(future, error == nullptr ? g_future_complete : g_future_fail, outcome);
  } else {
    // Out of memory building the outcome: the future fails with that error.
    jthrowable pending = env->ExceptionOccurred();
    env->ExceptionClear();
    if (pending != nullptr) env->CallBooleanMethod(future, g_future_fail, pending);
  }
  if (env->ExceptionCheck()) env->ExceptionClear();  // a dependent stage threw
  env->PopLocalFrame(nullptr);
}

// Records that reached Java, per level (trace .. error): the tests check
// that none below the level ever does.
std::atomic<uint64_t> g_log_crossed[5];

// The library's log callback: on its log delivery thread (never a core
// thread), which attaches itself once. Logging.deliver catches what a
// System.Logger throws; anything left pending is cleared here.
void DeliverLogRecord(void*, const sprawl_log_record_t* record) {
  JNIEnv* env = t_attached.env();
  if (env == nullptr) return;
  const size_t count = sprawl_log_record_field_count(record);
  if (env->PushLocalFrame(static_cast<jint>(8 + 2 * count)) != JNI_OK) {
    env->ExceptionClear();
    return;
  }
  try {
    const int level = static_cast<int>(sprawl_log_record_level(record));
    jstring component = JavaString(env, sprawl_log_record_component(record));
    jstring message = JavaString(env, sprawl_log_record_message(record));
    jobjectArray fields = static_cast<jobjectArray>(
        NotNull(env->NewObjectArray(static_cast<jsize>(2 * count), g_string, nullptr)));
    for (size_t i = 0; i < count; ++i) {
      const char* key = nullptr;
      const char* value = nullptr;
      if (sprawl_log_record_field(record, i, &key, &value) != 1) continue;
      env->SetObjectArrayElement(fields, static_cast<jsize>(2 * i), JavaString(env, key));
      env->SetObjectArrayElement(fields, static_cast<jsize>(2 * i + 1), JavaString(env, value));
    }
    if (level >= 0 && level < 5) g_log_crossed[level].fetch_add(1, std::memory_order_relaxed);
    env->CallStaticVoidMethod(g_logging, g_logging_deliver, static_cast<jint>(level), component,
                              message, static_cast<jlong>(sprawl_log_record_timestamp_ms(record)),
                              fields);
  } catch (const JavaPending&) {
    // Out of memory building the record: it is lost.
  }
  if (env->ExceptionCheck()) env->ExceptionClear();
  env->PopLocalFrame(nullptr);
}

}  // namespace

extern "C" {

JNIEXPORT jint JNI_OnLoad(JavaVM* vm, void*) {
  g_vm = vm;
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;
  g_exception = GlobalClass(env, "io/sprawl/SprawlException");
  g_ack = GlobalClass(env, "io/sprawl/PublishAck");
  g_future = GlobalClass(env, "java/util/concurrent/CompletableFuture");
  g_string = GlobalClass(env, "java/lang/String");
  g_bytes = GlobalClass(env, "[B");
  g_object = GlobalClass(env, "java/lang/Object");
  g_logging = GlobalClass(env, "io/sprawl/Logging");
  jclass charsets = GlobalClass(env, "java/nio/charset/StandardCharsets");
  if (!g_exception || !g_ack || !g_future || !g_string || !g_bytes || !g_object || !g_logging ||
      !charsets) {
    return JNI_ERR;
  }
  g_exception_init =
      env->GetMethodID(g_exception, "<init>", "(Ljava/lang/String;ILjava/lang/String;Z)V");
  g_ack_init = env->GetMethodID(g_ack, "<init>", "(Ljava/lang/String;IJ)V");
  g_future_complete = env->GetMethodID(g_future, "complete", "(Ljava/lang/Object;)Z");
  g_future_fail = env->GetMethodID(g_future, "completeExceptionally", "(Ljava/lang/Throwable;)Z");
  g_logging_deliver = env->GetStaticMethodID(
      g_logging, "deliver", "(ILjava/lang/String;Ljava/lang/String;J[Ljava/lang/String;)V");
  g_string_init = env->GetMethodID(g_string, "<init>", "([BLjava/nio/charset/Charset;)V");
  g_string_get_bytes = env->GetMethodID(g_string, "getBytes", "(Ljava/nio/charset/Charset;)[B");
  jfieldID utf8_field = env->GetStaticFieldID(charsets, "UTF_8", "Ljava/nio/charset/Charset;");
  if (!g_exception_init || !g_ack_init || !g_future_complete || !g_future_fail || !g_string_init ||
      !g_string_get_bytes || !utf8_field || !g_logging_deliver) {
    return JNI_ERR;
  }
  jobject utf8 = env->GetStaticObjectField(charsets, utf8_field);
  if (utf8 == nullptr) return JNI_ERR;
  g_utf8 = env->NewGlobalRef(utf8);
  env->DeleteLocalRef(utf8);
  env->DeleteGlobalRef(charsets);
  return JNI_VERSION_1_8;
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_version(JNIEnv* env, jclass) {
  return Guarded<jstring>(env, nullptr, [&] { return JavaString(env, sprawl::Version()); });
}

JNIEXPORT jlong JNICALL Java_io_sprawl_Native_nodeStart(JNIEnv* env, jclass, jobjectArray s) {
  return Guarded<jlong>(
      env, 0, [&] { return reinterpret_cast<jlong>(new sprawl::Node(SettingsFrom(env, s))); });
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_nodeClientAddress(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  if (node == nullptr) return nullptr;
  return Guarded<jstring>(env, nullptr, [&] { return JavaString(env, node->client_address()); });
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_nodeHttpAddress(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  if (node == nullptr) return nullptr;
  return Guarded<jstring>(env, nullptr, [&] { return JavaString(env, node->http_address()); });
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_nodePeerAddress(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  if (node == nullptr) return nullptr;
  return Guarded<jstring>(env, nullptr, [&] { return JavaString(env, node->peer_address()); });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_nodeStop(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  if (node != nullptr) Guarded<int>(env, 0, [&] { return node->Stop(), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_nodeDestroy(JNIEnv*, jclass, jlong h) {
  delete reinterpret_cast<sprawl::Node*>(h);
}

JNIEXPORT jlong JNICALL Java_io_sprawl_Native_clientOpen(JNIEnv* env, jclass, jobjectArray s) {
  return Guarded<jlong>(
      env, 0, [&] { return reinterpret_cast<jlong>(new sprawl::Client(SettingsFrom(env, s))); });
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_clientAdmin(JNIEnv* env, jclass, jlong h,
                                                            jstring op, jstring a, jstring b,
                                                            jobjectArray s) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client == nullptr) return nullptr;
  return Guarded<jstring>(env, nullptr, [&]() -> jstring {
    const std::string o = Utf8(env, op);
    const std::string x = Utf8(env, a);
    const std::string y = Utf8(env, b);
    const sprawl::Settings settings = SettingsFrom(env, s);
    std::string result;
    if (o == "createTopic") {
      result = client->CreateTopic(x, settings);
    } else if (o == "alterTopic") {
      result = client->AlterTopic(x, settings);
    } else if (o == "describeTopic") {
      result = client->DescribeTopic(x);
    } else if (o == "listTopics") {
      result = client->ListTopics();
    } else if (o == "deleteTopic") {
      client->DeleteTopic(x);
    } else if (o == "listGroups") {
      result = client->ListGroups(x);
    } else if (o == "describeGroup") {
      result = client->DescribeGroup(x, y);
    } else {
      throw Invalid("unknown call " + o);
    }
    return JavaString(env, result);
  });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_clientPublish(JNIEnv* env, jclass, jlong h,
                                                           jstring topic, jint partition,
                                                           jbyteArray key, jbyteArray value,
                                                           jobjectArray names, jobjectArray values,
                                                           jobject done) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client == nullptr) return;
  Guarded<int>(env, 0, [&] {
    if (topic == nullptr || value == nullptr) throw Invalid("topic and value are required");
    sprawl::Record r;
    r.topic = Utf8(env, topic);
    const std::string v = Bytes(env, value);
    r.value = v;
    std::string k;
    if (key != nullptr) {
      k = Bytes(env, key);
      r.key = std::string_view(k);
    }
    const jsize n = names == nullptr ? 0 : env->GetArrayLength(names);
    if (n > 0 && (values == nullptr || env->GetArrayLength(values) != n)) {
      throw Invalid("every header needs a name and a value");
    }
    std::vector<std::string> header_values;
    header_values.reserve(static_cast<size_t>(n));  // no reallocation: r.headers views them
    for (jsize i = 0; i < n; ++i) {
      auto name = static_cast<jstring>(env->GetObjectArrayElement(names, i));
      auto bytes = static_cast<jbyteArray>(env->GetObjectArrayElement(values, i));
      if (name == nullptr || bytes == nullptr) throw Invalid("a header name or value is null");
      header_values.push_back(Bytes(env, bytes));
      r.headers.emplace_back(Utf8(env, name), header_values.back());
      env->DeleteLocalRef(name);
      env->DeleteLocalRef(bytes);
    }
    r.partition = partition;
    jobject future = NotNull(env->NewGlobalRef(done));
    jobject topic_ref = env->NewGlobalRef(topic);
    if (topic_ref == nullptr) {
      env->DeleteGlobalRef(future);
      throw JavaPending{};
    }
    try {
      client->PublishAsync(r,
                           [future, topic_ref](const sprawl::Error* error, sprawl::PublishAck ack) {
                             JNIEnv* cb = t_attached.env();
                             if (cb == nullptr) return;  // the JVM is going away
                             CompleteFuture(cb, future, topic_ref, error, ack);
                             cb->DeleteGlobalRef(future);
                             cb->DeleteGlobalRef(topic_ref);
                           });
    } catch (...) {
      env->DeleteGlobalRef(future);  // not queued: the callback never runs
      env->DeleteGlobalRef(topic_ref);
      throw;
    }
    return 0;
  });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_clientPublishMany(JNIEnv* env, jclass, jlong h,
                                                               jstring topic, jbyteArray key,
                                                               jobjectArray values) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client == nullptr) return;
  Guarded<int>(env, 0, [&] {
    if (topic == nullptr || values == nullptr) throw Invalid("topic and values are required");
    sprawl::Record r;
    r.topic = Utf8(env, topic);
    std::string k;
    if (key != nullptr) {
      k = Bytes(env, key);
      r.key = std::string_view(k);
    }
    const jsize n = env->GetArrayLength(values);
    std::string value;
    for (jsize i = 0; i < n; ++i) {
      auto bytes = static_cast<jbyteArray>(env->GetObjectArrayElement(values, i));
      if (bytes == nullptr) throw Invalid("a value is null");
      value.resize(static_cast<size_t>(env->GetArrayLength(bytes)));
      env->GetByteArrayRegion(bytes, 0, static_cast<jsize>(value.size()),
                              reinterpret_cast<jbyte*>(value.data()));
      env->DeleteLocalRef(bytes);  // one per iteration: no growth across a large batch
      r.value = value;
      client->PublishAsync(r);  // copies the bytes before it returns
    }
    return 0;
  });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_clientFlush(JNIEnv* env, jclass, jlong h, jint ms) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client != nullptr) Guarded<int>(env, 0, [&] { return client->Flush(ms), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_clientClose(JNIEnv* env, jclass, jlong h, jint ms) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client != nullptr) Guarded<int>(env, 0, [&] { return client->Close(ms), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_clientDestroy(JNIEnv*, jclass, jlong h) {
  delete reinterpret_cast<sprawl::Client*>(h);
}

JNIEXPORT jlong JNICALL Java_io_sprawl_Native_consumerOpen(JNIEnv* env, jclass, jlong h,
                                                           jobjectArray s) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client == nullptr) return 0;
  return Guarded<jlong>(env, 0, [&] {
    const sprawl::Settings settings = SettingsFrom(env, s);
    return reinterpret_cast<jlong>(new sprawl::Consumer(*client, settings));
  });
}

JNIEXPORT jlong JNICALL Java_io_sprawl_Native_consumerReceive(JNIEnv* env, jclass, jlong h,
                                                              jint ms) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  if (consumer == nullptr) return 0;
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    std::optional<sprawl::Message> m = consumer->Receive(ms);
    return m ? reinterpret_cast<jlong>(new sprawl::Message(std::move(*m))) : 0;
  });
}

JNIEXPORT jlongArray JNICALL Java_io_sprawl_Native_consumerReceiveMany(JNIEnv* env, jclass, jlong h,
                                                                       jint max, jint ms) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  if (consumer == nullptr) return nullptr;
  std::vector<jlong> got;  // owned until handed to Java
  auto free_got = [&] {
    for (jlong m : got) delete reinterpret_cast<sprawl::Message*>(m);
  };
  jlongArray out = Guarded<jlongArray>(env, nullptr, [&]() -> jlongArray {
    std::optional<sprawl::Message> m = consumer->Receive(ms);
    while (m) {
      got.push_back(reinterpret_cast<jlong>(new sprawl::Message(std::move(*m))));
      if (got.size() >= static_cast<size_t>(max)) break;
      try {
        m = consumer->Receive(0);
      } catch (const sprawl::Error&) {
        break;  // a close meanwhile: the next call reports it
      }
    }
    jlongArray handles = NotNull(env->NewLongArray(static_cast<jsize>(got.size())));
    env->SetLongArrayRegion(handles, 0, static_cast<jsize>(got.size()), got.data());
    return handles;
  });
  if (out == nullptr) free_got();
  return out;
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerAck(JNIEnv* env, jclass, jlong h, jlong m) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  if (consumer == nullptr) return;
  auto* message = Handle<sprawl::Message>(env, m, "the message");
  if (message != nullptr) Guarded<int>(env, 0, [&] { return consumer->Ack(*message), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerNack(JNIEnv* env, jclass, jlong h, jlong m,
                                                          jint ms) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  if (consumer == nullptr) return;
  auto* message = Handle<sprawl::Message>(env, m, "the message");
  if (message != nullptr) Guarded<int>(env, 0, [&] { return consumer->Nack(*message, ms), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerCommit(JNIEnv* env, jclass, jlong h) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  if (consumer != nullptr) Guarded<int>(env, 0, [&] { return consumer->Commit(), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerClose(JNIEnv* env, jclass, jlong h) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  if (consumer != nullptr) Guarded<int>(env, 0, [&] { return consumer->Close(), 0; });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerDestroy(JNIEnv*, jclass, jlong h) {
  delete reinterpret_cast<sprawl::Consumer*>(h);
}

// `known` as a new local reference when it spells `topic` (compared in
// modified UTF-8, which is UTF-8 for any topic without NUL or characters
// beyond the BMP), else a new String. A consumer's messages share one
// topic: comparing costs no allocation and no call into Java, which
// building a String per message does.
jstring TopicString(JNIEnv* env, std::string_view topic, jstring known) {
  if (known != nullptr && static_cast<size_t>(env->GetStringUTFLength(known)) == topic.size()) {
    std::string spelled(topic.size() + 1, '\0');  // the region ends with a NUL
    env->GetStringUTFRegion(known, 0, env->GetStringLength(known), spelled.data());
    if (std::string_view(spelled.data(), topic.size()) == topic) {
      return static_cast<jstring>(NotNull(env->NewLocalRef(known)));
    }
  }
  return JavaString(env, topic);
}

JNIEXPORT jobjectArray JNICALL Java_io_sprawl_Native_messageFields(JNIEnv* env, jclass, jlong h,
                                                                   jstring known_topic) {
  auto* m = Handle<sprawl::Message>(env, h, "the message");
  if (m == nullptr) return nullptr;
  return Guarded<jobjectArray>(env, nullptr, [&] {
    jobjectArray out = NotNull(env->NewObjectArray(6, g_object, nullptr));
    auto set = [&](jsize i, jobject o) {
      env->SetObjectArrayElement(out, i, NotNull(o));
      env->DeleteLocalRef(o);
    };
    set(0, TopicString(env, m->topic(), known_topic));
    if (auto key = m->key()) set(1, ByteArray(env, *key));
    set(2, ByteArray(env, m->value()));
    const auto headers = m->headers();
    const auto count = static_cast<jsize>(headers.size());
    if (count > 0) {  // most messages have none: no arrays then
      jobjectArray names = NotNull(env->NewObjectArray(count, g_string, nullptr));
      jobjectArray values = NotNull(env->NewObjectArray(count, g_bytes, nullptr));
      for (jsize i = 0; i < count; ++i) {
        jstring name = JavaString(env, headers[static_cast<size_t>(i)].first);
        jbyteArray value = ByteArray(env, headers[static_cast<size_t>(i)].second);
        env->SetObjectArrayElement(names, i, name);
        env->SetObjectArrayElement(values, i, value);
        env->DeleteLocalRef(name);
        env->DeleteLocalRef(value);
      }
      set(3, names);
      set(4, values);
    }
    // The numbers in one primitive array: boxing each was a call into Java.
    const jlong numbers[4] = {static_cast<jlong>(m->partition()), static_cast<jlong>(m->offset()),
                              static_cast<jlong>(m->timestamp_ms()),
                              static_cast<jlong>(m->delivery_count())};
    jlongArray packed = NotNull(env->NewLongArray(4));
    env->SetLongArrayRegion(packed, 0, 4, numbers);
    set(5, packed);
    return out;
  });
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_messageDestroy(JNIEnv*, jclass, jlong h) {
  delete reinterpret_cast<sprawl::Message*>(h);
}

}  // extern "C"

// ---- logging ---------------------------------------------------------------

// The names are JNI's (Java_<class>_<method>), not this project's style.
// NOLINTBEGIN(readability-identifier-naming)
extern "C" {

// A failed logging call: the C error as a SprawlException.
static void ThrowLogError(JNIEnv* env, sprawl_error_t* err) {
  Throw(env, sprawl::Error(sprawl_error_code(err), sprawl_error_code_name(err),
                           sprawl_error_message(err), sprawl_error_retriable(err) != 0));
  sprawl_error_destroy(&err);
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_logInstall(JNIEnv* env, jclass, jint capacity) {
  sprawl_error_t* err = nullptr;
  if (capacity > 0 &&
      sprawl_log_set_queue_capacity(static_cast<size_t>(capacity), &err) != SPRAWL_OK) {
    ThrowLogError(env, err);
    return;
  }
  if (sprawl_log_set_callback(&DeliverLogRecord, nullptr, nullptr, &err) != SPRAWL_OK) {
    ThrowLogError(env, err);
  }
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_logUninstall(JNIEnv* env, jclass) {
  sprawl_error_t* err = nullptr;
  if (sprawl_log_set_callback(nullptr, nullptr, nullptr, &err) != SPRAWL_OK) {
    ThrowLogError(env, err);
  }
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_logSetLevel(JNIEnv* env, jclass, jint level) {
  sprawl_error_t* err = nullptr;
  if (sprawl_log_set_level(static_cast<sprawl_log_level_t>(level), &err) != SPRAWL_OK) {
    ThrowLogError(env, err);
  }
}

JNIEXPORT jint JNICALL Java_io_sprawl_Native_logGetLevel(JNIEnv*, jclass) {
  return static_cast<jint>(sprawl_log_get_level());
}

JNIEXPORT jlong JNICALL Java_io_sprawl_Native_logDropped(JNIEnv*, jclass) {
  return static_cast<jlong>(sprawl_log_dropped());
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_logWrite(JNIEnv* env, jclass, jint level,
                                                      jstring component, jstring message) {
  Guarded<int>(env, 0, [&] {
    const std::string c = Utf8(env, component);
    const std::string m = Utf8(env, message);
    sprawl_error_t* err = nullptr;
    if (sprawl_log_write(static_cast<sprawl_log_level_t>(level), c.c_str(), m.c_str(), &err) !=
        SPRAWL_OK) {
      ThrowLogError(env, err);
    }
    return 0;
  });
}

JNIEXPORT jlongArray JNICALL Java_io_sprawl_Native_logCrossed(JNIEnv* env, jclass) {
  jlong counts[5];
  for (int i = 0; i < 5; ++i) counts[i] = static_cast<jlong>(g_log_crossed[i].load());
  jlongArray out = env->NewLongArray(5);
  if (out != nullptr) env->SetLongArrayRegion(out, 0, 5, counts);
  return out;
}

}  // extern "C"
// NOLINTEND(readability-identifier-naming)
