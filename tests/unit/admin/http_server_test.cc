#include "core/admin/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/unit/admin/http_test_client.h"

namespace sprawl::admin {
namespace {

using nlohmann::json;
using testing::ClientResponse;
using testing::Fetch;
using testing::TestClient;
using namespace std::chrono_literals;

// Responders handed over by handlers, for tests that answer later.
class ResponderQueue {
 public:
  void Push(Responder r) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
    cv_.notify_all();
  }
  // The next responder, waiting up to 10 s.
  std::optional<Responder> Pop() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, 10s, [&] { return !queue_.empty(); })) return std::nullopt;
    Responder r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Responder> queue_;
};

// Waits up to 10 s for `done`; for state that changes on the server's thread.
template <typename F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class HttpServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpServer> Start(Router router, HttpServerOptions options = {}) {
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, std::move(router), registry_);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return server.ok() ? std::move(server).value() : nullptr;
  }

  // A router with GET /ping -> 200 {"pong":true}.
  static Router PingRouter() {
    Router router;
    router.Add("GET", "/ping", [](HttpRequest, Responder respond) {
      respond(JsonResponse({{"pong", true}}));
    });
    return router;
  }

  int64_t OpenConnections() {
    return registry_.GetGauge("sprawl_http_open_connections", "").Value();
  }
  uint64_t Accepted() {
    return registry_.GetCounter("sprawl_http_connections_accepted_total", "").Value();
  }

  static void ExpectError(const ClientResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.error << " " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json");
    const json body = r.Json();
    ASSERT_TRUE(body.is_object()) << r.body;
    ASSERT_TRUE(body.contains("error")) << r.body;
    const json& e = body["error"];
    EXPECT_EQ(e["code"], code) << r.body;
    EXPECT_TRUE(e["code_number"].is_number_integer()) << r.body;
    EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r.body;
    EXPECT_TRUE(e["retriable"].is_boolean()) << r.body;
    EXPECT_EQ(e.size(), 4u) << r.body;
  }

  metrics::Registry registry_;
};

TEST_F(HttpServerTest, RoutesPathParamsQueryHeadersAndBody) {
  Router router;
  router.Add("POST", "/v1/topics/{topic}/partitions/{partition}",
             [](HttpRequest req, Responder respond) {
               respond(JsonResponse({{"method", req.method},
                                     {"path", req.path},
                                     {"params", req.params},
                                     {"query", req.query},
                                     {"x_trace", req.Header("X-Trace")},
                                     {"body", req.body}},
                                    201));
             });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  ClientResponse r = Fetch(server->port(), "POST",
                           "/v1/topics/my%20topic/partitions/3?wait_ms=10&name=a%2Bb+c&flag",
                           R"({"x":1})", {{"X-Trace", "t-1"}});
  ASSERT_EQ(r.status, 201) << r.error << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("server"), "sprawl");
  const json body = r.Json();
  EXPECT_EQ(body["method"], "POST");
  EXPECT_EQ(body["path"], "/v1/topics/my topic/partitions/3");
  EXPECT_EQ(body["params"], json({{"topic", "my topic"}, {"partition", "3"}}));
  EXPECT_EQ(body["query"], json({{"wait_ms", "10"}, {"name", "a+b c"}, {"flag", ""}}));
  EXPECT_EQ(body["x_trace"], "t-1");
  EXPECT_EQ(body["body"], R"({"x":1})");
}

TEST_F(HttpServerTest, UnknownPathIs404JsonError) {
  auto server = Start(PingRouter());
  ASSERT_NE(server, nullptr);
  ClientResponse r = Fetch(server->port(), "GET", "/nope?x=1");
  ExpectError(r, 404, "NOT_FOUND");
  EXPECT_EQ(r.Json()["error"]["code_number"], 2);
  EXPECT_EQ(r.Json()["error"]["retriable"], false);
  EXPECT_TRUE(r.keep_alive);
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllowHeader) {
  Router router = PingRouter();
  router.Add("DELETE", "/ping", [](HttpRequest, Responder respond) {
    respond(JsonResponse({{"deleted", true}}));
  });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  ClientResponse r = Fetch(server->port(), "PUT", "/ping", "{}");
  ExpectError(r, 405, "INVALID_ARGUMENT");
  EXPECT_EQ(r.Header("allow"), "DELETE, GET");
}

TEST_F(HttpServerTest, MalformedTargetIs400AndTheConnectionStaysUsable) {
  auto server = Start(PingRouter());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ExpectError(client.Request("GET", "/ping%zz"), 400, "INVALID_ARGUMENT");
  ExpectError(client.Request("GET", "ping"), 400, "INVALID_ARGUMENT");
  EXPECT_EQ(client.Request("GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, ResponderCalledLaterFromAnotherThread) {
  ResponderQueue pending;
  Router router;
  router.Add("GET", "/slow",
             [&pending](HttpRequest, Responder respond) { pending.Push(std::move(respond)); });
  router.Add("GET", "/ping", [](HttpRequest, Responder respond) {
    respond(JsonResponse({{"pong", true}}));
  });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);

  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  auto answer = std::async(std::launch::async, [&] { return client.Request("GET", "/slow"); });
  std::optional<Responder> respond = pending.Pop();
  ASSERT_TRUE(respond.has_value());
  // The handler has returned and the request is still waiting for its answer.
  EXPECT_EQ(answer.wait_for(0s), std::future_status::timeout);
  std::thread other([respond = *respond] {
    respond(JsonResponse({{"from", "other thread"}}));
    respond(ErrorResponse(Internal("a second answer is ignored")));
  });
  other.join();
  ClientResponse r = answer.get();
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.Json()["from"], "other thread");
  // The ignored second answer did not leak into the next request on the connection.
  ClientResponse next = client.Request("GET", "/ping");
  EXPECT_EQ(next.status, 200) << next.error;
  EXPECT_EQ(next.Json()["pong"], true);
  EXPECT_EQ(Accepted(), 1u);
}

TEST_F(HttpServerTest, ManyConcurrentLongPollsAnsweredOutOfOrder) {
  ResponderQueue pending;
  Router router;
  router.Add("GET", "/wait/{n}", [&pending](HttpRequest req, Responder respond) {
    pending.Push([respond, n = req.params["n"]](HttpResponse) {
      respond(JsonResponse({{"n", n}}));
    });
  });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 8;
  std::vector<std::future<ClientResponse>> answers;
  for (int i = 0; i < kClients; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      return Fetch(server->port(), "GET", "/wait/" + std::to_string(i));
    }));
  }
  std::vector<Responder> responders;
  for (int i = 0; i < kClients; ++i) {
    std::optional<Responder> r = pending.Pop();
    ASSERT_TRUE(r.has_value());
    responders.push_back(std::move(*r));
  }
  std::vector<std::thread> threads;
  for (auto it = responders.rbegin(); it != responders.rend(); ++it) {
    threads.emplace_back([r = *it] { r(HttpResponse{}); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    ClientResponse r = answers[i].get();
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.Json()["n"], std::to_string(i));
  }
}

TEST_F(HttpServerTest, HandlerThatNeverAnswersDoesNotHangStop) {
  ResponderQueue pending;
  Router router;
  router.Add("GET", "/never",
             [&pending](HttpRequest, Responder respond) { pending.Push(std::move(respond)); });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ASSERT_FALSE(client.SendRaw("GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Responder> respond = pending.Pop();
  ASSERT_TRUE(respond.has_value());

  const auto before = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_TRUE(client.WaitForClose());
  // Answering, copying and dropping the responder after Stop and after destruction are no-ops.
  (*respond)(JsonResponse({{"late", true}}));
  server.reset();
  Responder copy = *respond;
  copy(JsonResponse({{"later", true}}));
  respond.reset();
}

TEST_F(HttpServerTest, ClientGoneBeforeTheAnswerIsHarmless) {
  ResponderQueue pending;
  Router router = PingRouter();
  router.Add("GET", "/slow",
             [&pending](HttpRequest, Responder respond) { pending.Push(std::move(respond)); });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_FALSE(client.SendRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::optional<Responder> respond = pending.Pop();
    ASSERT_TRUE(respond.has_value());
    client.Close();
    std::thread([r = *respond] { r(JsonResponse({{"to", "nobody"}})); }).join();
  }
  // The server notices the closed connection when it writes the answer, and frees it.
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 0; }));
  EXPECT_EQ(Fetch(server->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, DroppedResponderAnswers500) {
  Router router;
  router.Add("GET", "/drop", [](HttpRequest, Responder) {});
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  ClientResponse r = Fetch(server->port(), "GET", "/drop");
  ExpectError(r, 500, "INTERNAL");
}

TEST_F(HttpServerTest, ThrowingHandlerAnswers500AndServerKeepsServing) {
  Router router = PingRouter();
  router.Add("GET", "/throw",
             [](HttpRequest, Responder) -> void { throw std::runtime_error("boom"); });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ClientResponse r = client.Request("GET", "/throw");
  ExpectError(r, 500, "INTERNAL");
  EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("boom"), std::string::npos);
  EXPECT_EQ(client.Request("GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, HandlerSlowerThanTheResponseTimeoutGets504) {
  ResponderQueue pending;
  Router router = PingRouter();
  router.Add("GET", "/stuck",
             [&pending](HttpRequest, Responder respond) { pending.Push(std::move(respond)); });
  HttpServerOptions options;
  options.response_timeout_seconds = 1;
  auto server = Start(std::move(router), options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ClientResponse r = client.Request("GET", "/stuck");
  ExpectError(r, 504, "TIMEOUT");
  std::optional<Responder> late = pending.Pop();
  ASSERT_TRUE(late.has_value());
  (*late)(JsonResponse({{"late", true}}));  // ignored: its request was already answered
  ClientResponse next = client.Request("GET", "/ping");
  EXPECT_EQ(next.status, 200) << next.error;
  EXPECT_EQ(next.Json()["pong"], true);
}

TEST_F(HttpServerTest, OversizedBodyIs413AndServerKeepsServing) {
  std::atomic<int> handled{0};
  Router router = PingRouter();
  router.Add("POST", "/upload", [&handled](HttpRequest req, Responder respond) {
    ++handled;
    respond(JsonResponse({{"bytes", req.body.size()}}));
  });
  HttpServerOptions options;
  options.max_body_bytes = 64 * 1024;
  auto server = Start(std::move(router), options);
  ASSERT_NE(server, nullptr);

  // At the limit is fine.
  ClientResponse ok = Fetch(server->port(), "POST", "/upload", std::string(64 * 1024, 'a'));
  ASSERT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.Json()["bytes"], 64 * 1024);

  // Far over it (more than socket buffers hold): answered, not reset, and the handler never runs.
  TestClient big(server->port());
  ASSERT_TRUE(big.connected());
  ClientResponse r = big.Request("POST", "/upload", std::string(8 << 20, 'b'));
  ExpectError(r, 413, "MESSAGE_TOO_LARGE");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(big.WaitForClose());
  EXPECT_EQ(handled.load(), 1);

  // A chunked body has no Content-Length; the limit applies while reading.
  TestClient chunked(server->port());
  ASSERT_TRUE(chunked.connected());
  std::string request = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "8000\r\n" + std::string(0x8000, 'c') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_FALSE(chunked.SendRaw(request));
  ExpectError(chunked.ReadResponse(), 413, "MESSAGE_TOO_LARGE");

  EXPECT_EQ(Fetch(server->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  auto server = Start(PingRouter(), options);
  ASSERT_NE(server, nullptr);
  ClientResponse r = Fetch(server->port(), "GET", "/ping", "", {{"X-Big", std::string(4096, 'h')}});
  ExpectError(r, 431, "MESSAGE_TOO_LARGE");
  EXPECT_EQ(Fetch(server->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, GarbageIs400AndOtherConnectionsKeepWorking) {
  auto server = Start(PingRouter());
  ASSERT_NE(server, nullptr);
  TestClient good(server->port());
  ASSERT_TRUE(good.connected());
  ASSERT_EQ(good.Request("GET", "/ping").status, 200);

  const std::vector<std::string> garbage = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),  // a TLS hello
      "GET /ping HTTP/x.1\r\n\r\n",
      "GET\r\n\r\n",
      "GET /ping HTTP/1.1\r\nBad Header Line\r\n\r\n",
      "POST /ping HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
  };
  for (const std::string& bytes : garbage) {
    TestClient bad(server->port());
    ASSERT_TRUE(bad.connected());
    ASSERT_FALSE(bad.SendRaw(bytes));
    ClientResponse r = bad.ReadResponse();
    ExpectError(r, 400, "INVALID_ARGUMENT");
    EXPECT_TRUE(bad.WaitForClose());
  }
  EXPECT_EQ(good.Request("GET", "/ping").status, 200);
  EXPECT_EQ(Fetch(server->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, KeepAliveServesRequestsOnOneConnection) {
  auto server = Start(PingRouter());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 2; ++i) {
    ClientResponse r = client.Request("GET", "/ping");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_TRUE(r.keep_alive);
  }
  // Two pipelined requests in one write come back in order.
  ASSERT_FALSE(client.SendRaw(
      "GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(client.ReadResponse().status, 200);
  EXPECT_EQ(client.ReadResponse().status, 404);
  EXPECT_EQ(Accepted(), 1u);

  // Connection: close is honoured.
  ClientResponse last = client.Request("GET", "/ping", "", {}, /*keep_alive=*/false);
  EXPECT_EQ(last.status, 200);
  EXPECT_FALSE(last.keep_alive);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  Router router;
  router.Add("POST", "/echo", [](HttpRequest req, Responder respond) {
    respond(TextResponse(req.body, "text/plain"));
  });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ASSERT_FALSE(client.SendRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(client.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_FALSE(client.SendRaw("hello"));
  ClientResponse r = client.ReadResponse();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "hello");
}

TEST_F(HttpServerTest, HeadGetsHeadersWithoutABody) {
  Router router;
  router.Add("HEAD", "/thing", [](HttpRequest, Responder respond) {
    respond(TextResponse("twelve bytes", "text/plain"));
  });
  router.Add("GET", "/thing", [](HttpRequest, Responder respond) {
    respond(TextResponse("twelve bytes", "text/plain"));
  });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ASSERT_FALSE(client.SendRaw("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string head = client.ReadUntil("\r\n\r\n");
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: 12"), std::string::npos) << head;
  // The next response follows directly: no body bytes came in between.
  ClientResponse r = client.Request("GET", "/thing");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "twelve bytes");
}

TEST_F(HttpServerTest, IdleConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout_seconds = 1;
  auto server = Start(PingRouter(), options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(client.Request("GET", "/ping").status, 200);
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 0; }));
}

TEST_F(HttpServerTest, ConnectionsOverTheCapGet503) {
  HttpServerOptions options;
  options.max_connections = 1;
  auto server = Start(PingRouter(), options);
  ASSERT_NE(server, nullptr);
  auto first = std::make_unique<TestClient>(server->port());
  ASSERT_TRUE(first->connected());
  ASSERT_EQ(first->Request("GET", "/ping").status, 200);  // surely registered now

  TestClient second(server->port());
  ASSERT_TRUE(second.connected());
  ClientResponse r = second.ReadResponse();
  ExpectError(r, 503, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(registry_.GetCounter("sprawl_http_connections_rejected_total", "").Value(), 1u);

  first->Close();
  first.reset();
  ASSERT_TRUE(Eventually([&] { return OpenConnections() == 0; }));
  EXPECT_EQ(Fetch(server->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, PortZeroPicksAFreePort) {
  auto a = Start(PingRouter());
  auto b = Start(PingRouter());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), 0);
  EXPECT_NE(b->port(), 0);
  EXPECT_NE(a->port(), b->port());
  EXPECT_EQ(Fetch(a->port(), "GET", "/ping").status, 200);
  EXPECT_EQ(Fetch(b->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, BindingAPortInUseIsIoError) {
  auto first = Start(PingRouter());
  ASSERT_NE(first, nullptr);
  HttpServerOptions options;
  options.port = first->port();
  Result<std::unique_ptr<HttpServer>> second = HttpServer::Start(options, PingRouter(), registry_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kIoError);
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(first->port())),
            std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status().message();
  EXPECT_EQ(Fetch(first->port(), "GET", "/ping").status, 200);
}

TEST_F(HttpServerTest, BadOptionsAreInvalidArgument) {
  HttpServerOptions options;
  options.bind = "localhost";  // a name, not an address
  Result<std::unique_ptr<HttpServer>> s = HttpServer::Start(options, PingRouter(), registry_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  options = {};
  options.max_body_bytes = 0;
  s = HttpServer::Start(options, PingRouter(), registry_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(HttpServerTest, ServesIpv6Loopback) {
  HttpServerOptions options;
  options.bind = "::1";
  Result<std::unique_ptr<HttpServer>> s = HttpServer::Start(options, PingRouter(), registry_);
  if (!s.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << s.status().ToString();
  EXPECT_NE((*s)->port(), 0);
}

TEST_F(HttpServerTest, RepeatedStartStopIsClean) {
  for (int i = 0; i < 20; ++i) {
    ResponderQueue pending;
    Router router = PingRouter();
    router.Add("GET", "/never",
               [&pending](HttpRequest, Responder respond) { pending.Push(std::move(respond)); });
    auto server = Start(std::move(router));
    ASSERT_NE(server, nullptr);
    ASSERT_EQ(Fetch(server->port(), "GET", "/ping").status, 200);
    TestClient idle(server->port());  // open, never sends
    ASSERT_TRUE(idle.connected());
    TestClient waiting(server->port());
    ASSERT_TRUE(waiting.connected());
    ASSERT_FALSE(waiting.SendRaw("GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::optional<Responder> respond = pending.Pop();
    ASSERT_TRUE(respond.has_value());
    if (i % 2 == 0) server->Stop();  // explicit Stop then destruction; else destruction alone
    server.reset();
    (*respond)(JsonResponse({{"late", true}}));
  }
  EXPECT_EQ(OpenConnections(), 0);
}

TEST_F(HttpServerTest, StopIsIdempotent) {
  auto server = Start(PingRouter());
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  server->Stop();
  server->Stop();
  TestClient client(port, 2s);
  // Refused, or (if the port was reused meanwhile) at least not answered by this server.
  if (client.connected()) {
    EXPECT_NE(client.Request("GET", "/ping").status, 200);
  }
}

TEST_F(HttpServerTest, MetricsCountRequestsByRouteAndClass) {
  Router router = PingRouter();
  router.Add("GET", "/v1/topics/{topic}", [](HttpRequest, Responder respond) {
    respond(ErrorResponse(NotFound("no such topic")));
  });
  auto server = Start(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.Request("GET", "/ping").status, 200);
  ASSERT_EQ(client.Request("GET", "/v1/topics/a").status, 404);
  ASSERT_EQ(client.Request("GET", "/v1/topics/b").status, 404);
  ASSERT_EQ(client.Request("GET", "/elsewhere").status, 404);
  ASSERT_EQ(client.Request("BREW", "/ping").status, 405);
  EXPECT_EQ(OpenConnections(), 1);

  auto requests = [&](const std::string& method, const std::string& route, const std::string& cls) {
    return registry_
        .GetCounter("sprawl_http_requests_total", "",
                    {{"method", method}, {"route", route}, {"class", cls}})
        .Value();
  };
  EXPECT_EQ(requests("GET", "/ping", "2xx"), 3u);
  EXPECT_EQ(requests("GET", "/v1/topics/{topic}", "4xx"), 2u);
  EXPECT_EQ(requests("GET", "unmatched", "4xx"), 1u);
  EXPECT_EQ(requests("OTHER", "unmatched", "4xx"), 1u);
  EXPECT_EQ(registry_.GetHistogram("sprawl_http_request_seconds", "", {{"route", "/ping"}}).Count(),
            3u);
  client.Close();
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 0; }));
}

}  // namespace
}  // namespace sprawl::admin
