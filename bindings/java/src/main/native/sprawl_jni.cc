// libsprawl_jni.so: the JNI half of the Java binding (io.sprawl.Native), over
// the C ABI through sprawl.hpp. Classes and method ids are cached in
// JNI_OnLoad; core threads that complete publish futures attach themselves
// once and detach at their own exit (a thread_local guard), and every
// callback frees its local references with a local frame.
#include <jni.h>

#include <memory>
#include <optional>
#include <string>
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
jclass g_bytes = nullptr;  // byte[]
jclass g_object = nullptr;
jclass g_integer = nullptr;
jmethodID g_integer_of = nullptr;
jclass g_long = nullptr;
jmethodID g_long_of = nullptr;

jclass GlobalClass(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (local == nullptr) return nullptr;
  auto global = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  return global;
}

jobject NewException(JNIEnv* env, const sprawl::Error& e) {
  jstring code = env->NewStringUTF(e.name().c_str());
  jstring message = env->NewStringUTF(e.message().c_str());
  jobject ex = env->NewObject(g_exception, g_exception_init, code, static_cast<jint>(e.code()),
                              message, static_cast<jboolean>(e.retriable()));
  env->DeleteLocalRef(code);
  env->DeleteLocalRef(message);
  return ex;
}

void Throw(JNIEnv* env, const sprawl::Error& e) {
  jobject ex = NewException(env, e);
  if (ex != nullptr) env->Throw(static_cast<jthrowable>(ex));
}

void ThrowInvalid(JNIEnv* env, const std::string& message) {
  Throw(env, sprawl::Error(SPRAWL_INVALID_ARGUMENT, "INVALID_ARGUMENT", message, false));
}

// Runs `body`, turning sprawl::Error into a pending SprawlException.
template <typename T, typename Body>
T Guarded(JNIEnv* env, T fallback, Body&& body) {
  try {
    return body();
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

std::string String(JNIEnv* env, jstring s) {
  if (s == nullptr) return std::string();
  const char* chars = env->GetStringUTFChars(s, nullptr);
  std::string out(chars);
  env->ReleaseStringUTFChars(s, chars);
  return out;
}

std::string Bytes(JNIEnv* env, jbyteArray a) {
  std::string out(static_cast<size_t>(env->GetArrayLength(a)), '\0');
  env->GetByteArrayRegion(a, 0, static_cast<jsize>(out.size()),
                          reinterpret_cast<jbyte*>(out.data()));
  return out;
}

jbyteArray ByteArray(JNIEnv* env, std::string_view bytes) {
  jbyteArray a = env->NewByteArray(static_cast<jsize>(bytes.size()));
  env->SetByteArrayRegion(a, 0, static_cast<jsize>(bytes.size()),
                          reinterpret_cast<const jbyte*>(bytes.data()));
  return a;
}

sprawl::Settings SettingsFrom(JNIEnv* env, jobjectArray flat) {
  sprawl::Settings out;
  if (flat == nullptr) return out;
  const jsize n = env->GetArrayLength(flat);
  for (jsize i = 0; i + 1 < n; i += 2) {
    auto k = static_cast<jstring>(env->GetObjectArrayElement(flat, i));
    auto v = static_cast<jstring>(env->GetObjectArrayElement(flat, i + 1));
    out[String(env, k)] = String(env, v);
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
  g_integer = GlobalClass(env, "java/lang/Integer");
  g_long = GlobalClass(env, "java/lang/Long");
  if (!g_exception || !g_ack || !g_future || !g_string || !g_bytes || !g_object || !g_integer ||
      !g_long) {
    return JNI_ERR;
  }
  g_exception_init =
      env->GetMethodID(g_exception, "<init>", "(Ljava/lang/String;ILjava/lang/String;Z)V");
  g_ack_init = env->GetMethodID(g_ack, "<init>", "(Ljava/lang/String;IJ)V");
  g_future_complete = env->GetMethodID(g_future, "complete", "(Ljava/lang/Object;)Z");
  g_future_fail = env->GetMethodID(g_future, "completeExceptionally", "(Ljava/lang/Throwable;)Z");
  g_integer_of = env->GetStaticMethodID(g_integer, "valueOf", "(I)Ljava/lang/Integer;");
  g_long_of = env->GetStaticMethodID(g_long, "valueOf", "(J)Ljava/lang/Long;");
  if (!g_exception_init || !g_ack_init || !g_future_complete || !g_future_fail || !g_integer_of ||
      !g_long_of) {
    return JNI_ERR;
  }
  return JNI_VERSION_1_8;
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_version(JNIEnv* env, jclass) {
  return env->NewStringUTF(sprawl::Version().c_str());
}

JNIEXPORT jlong JNICALL Java_io_sprawl_Native_nodeStart(JNIEnv* env, jclass, jobjectArray s) {
  return Guarded<jlong>(
      env, 0, [&] { return reinterpret_cast<jlong>(new sprawl::Node(SettingsFrom(env, s))); });
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_nodeClientAddress(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  return node == nullptr ? nullptr : env->NewStringUTF(node->client_address().c_str());
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_nodeHttpAddress(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  return node == nullptr ? nullptr : env->NewStringUTF(node->http_address().c_str());
}

JNIEXPORT jstring JNICALL Java_io_sprawl_Native_nodePeerAddress(JNIEnv* env, jclass, jlong h) {
  auto* node = Handle<sprawl::Node>(env, h, "the node");
  return node == nullptr ? nullptr : env->NewStringUTF(node->peer_address().c_str());
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
  const std::string o = String(env, op);
  const std::string x = String(env, a);
  const std::string y = String(env, b);
  sprawl::Settings settings = SettingsFrom(env, s);
  std::optional<std::string> result =
      Guarded<std::optional<std::string>>(env, std::nullopt, [&]() -> std::optional<std::string> {
        if (o == "createTopic") return client->CreateTopic(x, settings);
        if (o == "alterTopic") return client->AlterTopic(x, settings);
        if (o == "describeTopic") return client->DescribeTopic(x);
        if (o == "listTopics") return client->ListTopics();
        if (o == "deleteTopic") return client->DeleteTopic(x), std::string();
        if (o == "listGroups") return client->ListGroups(x);
        if (o == "describeGroup") return client->DescribeGroup(x, y);
        throw sprawl::Error(SPRAWL_INVALID_ARGUMENT, "INVALID_ARGUMENT", "unknown call " + o,
                            false);
      });
  return result ? env->NewStringUTF(result->c_str()) : nullptr;
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_clientPublish(JNIEnv* env, jclass, jlong h,
                                                           jstring topic, jint partition,
                                                           jbyteArray key, jbyteArray value,
                                                           jobjectArray names, jobjectArray values,
                                                           jobject done) {
  auto* client = Handle<sprawl::Client>(env, h, "the client");
  if (client == nullptr) return;
  if (topic == nullptr || value == nullptr)
    return ThrowInvalid(env, "topic and value are required");
  sprawl::Record r;
  r.topic = String(env, topic);
  const std::string v = Bytes(env, value);
  r.value = v;
  std::string k;
  if (key != nullptr) {
    k = Bytes(env, key);
    r.key = std::string_view(k);
  }
  std::vector<std::string> header_values;
  const jsize n = names == nullptr ? 0 : env->GetArrayLength(names);
  header_values.reserve(n);
  for (jsize i = 0; i < n; ++i) {
    auto name = static_cast<jstring>(env->GetObjectArrayElement(names, i));
    auto bytes = static_cast<jbyteArray>(env->GetObjectArrayElement(values, i));
    if (name == nullptr || bytes == nullptr) return ThrowInvalid(env, "a header is null");
    header_values.push_back(Bytes(env, bytes));
    r.headers.emplace_back(String(env, name), header_values.back());
    env->DeleteLocalRef(name);
    env->DeleteLocalRef(bytes);
  }
  r.partition = partition;
  jobject future = env->NewGlobalRef(done);
  jobject topic_ref = env->NewGlobalRef(topic);
  Guarded<int>(env, 0, [&] {
    try {
      client->PublishAsync(
          r, [future, topic_ref](const sprawl::Error* error, sprawl::PublishAck ack) {
            JNIEnv* cb = t_attached.env();
            if (cb == nullptr) return;  // the JVM is going away
            if (cb->PushLocalFrame(8) != JNI_OK) return;
            if (error == nullptr) {
              jobject result =
                  cb->NewObject(g_ack, g_ack_init, topic_ref, static_cast<jint>(ack.partition),
                                static_cast<jlong>(ack.offset));
              cb->CallBooleanMethod(future, g_future_complete, result);
            } else {
              cb->CallBooleanMethod(future, g_future_fail, NewException(cb, *error));
            }
            if (cb->ExceptionCheck()) cb->ExceptionClear();  // a dependent stage threw
            cb->PopLocalFrame(nullptr);
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
  if (topic == nullptr || values == nullptr)
    return ThrowInvalid(env, "topic and values are required");
  sprawl::Record r;
  r.topic = String(env, topic);
  std::string k;
  if (key != nullptr) {
    k = Bytes(env, key);
    r.key = std::string_view(k);
  }
  const jsize n = env->GetArrayLength(values);
  Guarded<int>(env, 0, [&] {
    std::string value;
    for (jsize i = 0; i < n; ++i) {
      auto bytes = static_cast<jbyteArray>(env->GetObjectArrayElement(values, i));
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
  sprawl::Settings settings = SettingsFrom(env, s);
  return Guarded<jlong>(
      env, 0, [&] { return reinterpret_cast<jlong>(new sprawl::Consumer(*client, settings)); });
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

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerAck(JNIEnv* env, jclass, jlong h, jlong m) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  auto* message = Handle<sprawl::Message>(env, m, "the message");
  if (consumer != nullptr && message != nullptr) {
    Guarded<int>(env, 0, [&] { return consumer->Ack(*message), 0; });
  }
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_consumerNack(JNIEnv* env, jclass, jlong h, jlong m,
                                                          jint ms) {
  auto* consumer = Handle<sprawl::Consumer>(env, h, "the consumer");
  auto* message = Handle<sprawl::Message>(env, m, "the message");
  if (consumer != nullptr && message != nullptr) {
    Guarded<int>(env, 0, [&] { return consumer->Nack(*message, ms), 0; });
  }
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

JNIEXPORT jobjectArray JNICALL Java_io_sprawl_Native_messageFields(JNIEnv* env, jclass, jlong h) {
  auto* m = Handle<sprawl::Message>(env, h, "the message");
  if (m == nullptr) return nullptr;
  jobjectArray out = env->NewObjectArray(9, g_object, nullptr);
  auto set = [&](jsize i, jobject o) {
    env->SetObjectArrayElement(out, i, o);
    env->DeleteLocalRef(o);
  };
  set(0, env->NewStringUTF(std::string(m->topic()).c_str()));
  if (auto key = m->key()) set(1, ByteArray(env, *key));
  set(2, ByteArray(env, m->value()));
  auto headers = m->headers();
  jobjectArray names = env->NewObjectArray(static_cast<jsize>(headers.size()), g_string, nullptr);
  jobjectArray values = env->NewObjectArray(static_cast<jsize>(headers.size()), g_bytes, nullptr);
  for (size_t i = 0; i < headers.size(); ++i) {
    jstring name = env->NewStringUTF(std::string(headers[i].first).c_str());
    jbyteArray value = ByteArray(env, headers[i].second);
    env->SetObjectArrayElement(names, static_cast<jsize>(i), name);
    env->SetObjectArrayElement(values, static_cast<jsize>(i), value);
    env->DeleteLocalRef(name);
    env->DeleteLocalRef(value);
  }
  set(3, names);
  set(4, values);
  set(5, env->CallStaticObjectMethod(g_integer, g_integer_of, static_cast<jint>(m->partition())));
  set(6, env->CallStaticObjectMethod(g_long, g_long_of, static_cast<jlong>(m->offset())));
  set(7, env->CallStaticObjectMethod(g_long, g_long_of, static_cast<jlong>(m->timestamp_ms())));
  set(8,
      env->CallStaticObjectMethod(g_integer, g_integer_of, static_cast<jint>(m->delivery_count())));
  return out;
}

JNIEXPORT void JNICALL Java_io_sprawl_Native_messageDestroy(JNIEnv*, jclass, jlong h) {
  delete reinterpret_cast<sprawl::Message*>(h);
}

}  // extern "C"
