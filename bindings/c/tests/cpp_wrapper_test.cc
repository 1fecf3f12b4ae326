// sprawl.hpp over the C ABI: what the wrapper itself adds. A delivery or log
// callback that throws is caught in the wrapper (nothing unwinds into the
// library), and a sprawl::Consumer may outlive its sprawl::Client.
#include <sprawl/sprawl.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int failures = 0;

void Check(bool ok, const char* what, int line) {
  if (ok) return;
  std::fprintf(stderr, "cpp_wrapper_test.cc:%d: check failed: %s\n", line, what);
  ++failures;
}
#define CHECK(cond) Check((cond), #cond, __LINE__)

sprawl::Record Make(const std::string& topic, std::string_view value) {
  sprawl::Record r;
  r.topic = topic;
  r.value = value;
  return r;
}

// In both callback modes: throwing callbacks neither crash the process nor
// stop later callbacks, and the messages are stored all the same.
void ThrowingCallbacksAreContained(const sprawl::Node& node, const std::string& mode) {
  sprawl::Client client(
      {{"server", node.client_address()}, {"linger_ms", "1"}, {"callback_mode", mode}});
  const std::string topic = "cpp-throw-" + mode;
  client.CreateTopic(topic);
  std::atomic<int> calls{0};
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i) {
    const std::string value = "v" + std::to_string(i);
    client.PublishAsync(Make(topic, value),
                        [&calls](const sprawl::Error* error, sprawl::PublishAck) {
                          ++calls;
                          if (error == nullptr) throw std::runtime_error("a callback's own bug");
                        });
  }
  client.Flush(30000);
  if (mode == "poll") {
    int ran = 0;
    for (int rounds = 0; ran < kMessages && rounds < 100; ++rounds) ran += client.Poll(100);
    CHECK(ran == kMessages);
  }
  CHECK(calls.load() == kMessages);
  // The client still works after its callbacks threw.
  sprawl::PublishAck ack = client.Publish(Make(topic, "after"), 10000);
  CHECK(ack.offset == kMessages);
}

void ConsumerOutlivesClient(const sprawl::Node& node) {
  std::optional<sprawl::Client> client(sprawl::Settings{{"server", node.client_address()}});
  client->CreateTopic("cpp-orphan");
  sprawl::Consumer consumer(*client, {{"topic", "cpp-orphan"}, {"group", "g"}});
  client.reset();  // destroys the client first
  try {
    consumer.Receive(-1);
    Check(false, "Receive on a consumer of a destroyed client returned", __LINE__);
  } catch (const sprawl::Error& e) {
    CHECK(e.code() == SPRAWL_CLOSED);
  }
  consumer.Close();  // OK on a closed client; the destructor frees the rest
}

}  // namespace

// The logging hook: records reach a std::function with their fields, and one
// that throws is contained in the wrapper.
void LogCallbackThroughTheWrapper() {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;
  sprawl::SetLogLevel(SPRAWL_LOG_INFO);
  CHECK(sprawl::LogLevel() == SPRAWL_LOG_INFO);
  sprawl::SetLogCallback([&](const sprawl::LogRecord& r) {
    std::lock_guard lock(mu);
    seen.push_back(std::string(r.component()) + ":" + std::string(r.message()) + ":" +
                   std::string(r.field("topic").value_or("-")));
    cv.notify_all();
    if (r.message() == "throw") throw std::runtime_error("a log callback's own bug");
  });
  sprawl_log_write(SPRAWL_LOG_WARN, "app", "throw", nullptr);
  {
    sprawl::Node node(sprawl::Settings{{"node_id", "cpp-log"}});
    sprawl::Client client(sprawl::Settings{{"server", node.client_address()}});
    client.CreateTopic("cpp-logged");
    std::unique_lock lock(mu);
    CHECK(cv.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const std::string& s : seen) {
        if (s == "broker:topic created:cpp-logged") return true;
      }
      return false;
    }));
  }
  sprawl::SetLogCallback(nullptr);
  sprawl::SetLogLevel(SPRAWL_LOG_WARN);
  CHECK(!seen.empty() && seen.front() == "app:throw:-");
}

int main() {
  try {
    sprawl::Node node;
    ThrowingCallbacksAreContained(node, "background");
    ThrowingCallbacksAreContained(node, "poll");
    ConsumerOutlivesClient(node);
    LogCallbackThroughTheWrapper();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures > 0) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("all C++ wrapper checks passed\n");
  return 0;
}
