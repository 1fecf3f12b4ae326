#include "core/admin/builtin_routes.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/admin/http_server.h"
#include "tests/unit/admin/http_test_client.h"

namespace sprawl::admin {
namespace {

using testing::ClientResponse;
using testing::Fetch;

class HttpBuiltinRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    InstallHealthRoutes(router, [this]() -> Status {
      if (ready_.load()) return Status::Ok();
      return Closed("the node is recovering its store");
    });
    InstallMetricsRoute(router, registry_);
    router.Add("GET", "/v1/topics/{topic}", [](HttpRequest req, Responder respond) {
      respond(JsonResponse({{"topic", req.params["topic"]}}));
    });
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start({}, std::move(router), registry_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  // Metrics of every type, with and without labels, as other modules register them.
  void RegisterSampleMetrics() {
    registry_.GetCounter("sprawl_test_records_total", "Records seen by the test.").Increment(5);
    registry_.GetCounter("sprawl_test_bytes_total", "Bytes by tier.", {{"tier", "memory"}})
        .Increment(10);
    registry_.GetCounter("sprawl_test_bytes_total", "Bytes by tier.", {{"tier", "disk"}})
        .Increment(20);
    registry_.GetGauge("sprawl_test_queue_depth", "Queue depth.", {{"queue", "a\"b\\c"}}).Set(-3);
    metrics::Histogram& h = registry_.GetHistogram("sprawl_test_wait_seconds", "Waits.",
                                                   {{"topic", "orders"}, {"partition", "0"}});
    h.Observe(0.001);
    h.Observe(2.5);
  }

  metrics::Registry registry_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpBuiltinRoutesTest, HealthIsOkWhileServing) {
  ClientResponse r = Fetch(server_->port(), "GET", "/health");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Json(), nlohmann::json({{"status", "ok"}}));
}

TEST_F(HttpBuiltinRoutesTest, ReadyFollowsTheProbe) {
  ClientResponse r = Fetch(server_->port(), "GET", "/ready");
  EXPECT_EQ(r.status, 503) << r.error;
  EXPECT_EQ(r.Json(),
            nlohmann::json({{"ready", false}, {"reason", "the node is recovering its store"}}));
  ready_ = true;
  r = Fetch(server_->port(), "GET", "/ready");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Json(), nlohmann::json({{"ready", true}}));
  ready_ = false;
  EXPECT_EQ(Fetch(server_->port(), "GET", "/ready").status, 503);
}

TEST_F(HttpBuiltinRoutesTest, ReadyWithoutAProbeIsNotReady) {
  Router router;
  InstallHealthRoutes(router, nullptr);
  metrics::Registry registry;
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start({}, std::move(router), registry);
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(Fetch((*server)->port(), "GET", "/ready").status, 503);
}

TEST_F(HttpBuiltinRoutesTest, MetricsArePrometheusTextWithTheServersOwnSeries) {
  RegisterSampleMetrics();
  ASSERT_EQ(Fetch(server_->port(), "GET", "/v1/topics/orders").status, 200);
  ASSERT_EQ(Fetch(server_->port(), "GET", "/nowhere").status, 404);
  ClientResponse r = Fetch(server_->port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_FALSE(r.body.empty());
  for (const char* expected : {
           "# TYPE sprawl_test_records_total counter\n",
           "sprawl_test_records_total 5\n",
           "sprawl_test_bytes_total{tier=\"disk\"} 20\n",
           "# TYPE sprawl_test_queue_depth gauge\n",
           "# TYPE sprawl_test_wait_seconds histogram\n",
           "sprawl_test_wait_seconds_count{partition=\"0\",topic=\"orders\"} 2\n",
           "# TYPE sprawl_http_requests_total counter\n",
           "sprawl_http_requests_total{class=\"2xx\",method=\"GET\",route=\"/v1/topics/{topic}\"} "
           "1\n",
           "sprawl_http_requests_total{class=\"4xx\",method=\"GET\",route=\"unmatched\"} 1\n",
           "# TYPE sprawl_http_request_seconds histogram\n",
           "# TYPE sprawl_http_open_connections gauge\n",
           "sprawl_http_connections_accepted_total ",
       }) {
    EXPECT_NE(r.body.find(expected), std::string::npos) << "missing: " << expected << "\n"
                                                        << r.body;
  }
}

// Runs `promtool check metrics` on `text`; returns its exit code and fills `output`.
int Promtool(const std::string& text, std::string* output) {
  char path[] = "/tmp/sprawl_admin_metrics_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  ::close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::remove(path);
    return -1;
  }
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, n);
  const int status = pclose(pipe);
  std::remove(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(HttpBuiltinRoutesTest, MetricsPassPromtool) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  RegisterSampleMetrics();
  ASSERT_EQ(Fetch(server_->port(), "GET", "/v1/topics/orders").status, 200);
  ASSERT_EQ(Fetch(server_->port(), "GET", "/v1/topics").status, 404);
  ASSERT_EQ(Fetch(server_->port(), "POST", "/health").status, 405);
  ClientResponse r = Fetch(server_->port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  ASSERT_NE(r.body.find("sprawl_http_request_seconds_bucket"), std::string::npos);
  std::string rejected;  // the harness does notice promtool's complaints
  EXPECT_NE(Promtool("# TYPE x counter\nx{bad-label=\"1\"} 1\n", &rejected), 0) << rejected;
  std::string output;
  EXPECT_EQ(Promtool(r.body, &output), 0) << output << "\n" << r.body;
  EXPECT_EQ(output.find("error"), std::string::npos) << output;
}

}  // namespace
}  // namespace sprawl::admin
