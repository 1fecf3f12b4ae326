#include "core/admin/static_assets.h"

#include <gtest/gtest.h>

#include <string_view>

#include "core/admin/http_server.h"
#include "tests/unit/admin/http_test_client.h"

namespace sprawl::admin {
namespace {

using testing::ClientResponse;
using testing::Fetch;

// Bytes with a NUL inside: assets are served whole, not as C strings.
constexpr std::string_view kScript("let a = 1;\0tail", 15);
constexpr StaticAsset kAssets[] = {
    {"index.html", "text/html; charset=utf-8", "<title>t</title>"},
    {"app.js", "text/javascript; charset=utf-8", kScript},
};

class StaticAssetsTest : public ::testing::Test {
 protected:
  void Start(std::span<const StaticAsset> assets) {
    Router router;
    InstallStaticRoutes(router, "/ui", assets);
    auto server = HttpServer::Start({}, std::move(router), registry_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  metrics::Registry registry_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(StaticAssetsTest, ThePrefixServesIndexAndNamesServeTheirFiles) {
  Start(kAssets);
  ClientResponse index = Fetch(server_->port(), "GET", "/ui");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<title>t</title>");
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("cache-control"), "no-cache");
  ClientResponse script = Fetch(server_->port(), "GET", "/ui/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, kScript);
  EXPECT_EQ(script.Header("content-type"), "text/javascript; charset=utf-8");
}

TEST_F(StaticAssetsTest, AnUnknownNameIsNotFoundAndWritesAreNotAllowed) {
  Start(kAssets);
  ClientResponse missing = Fetch(server_->port(), "GET", "/ui/other.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(Fetch(server_->port(), "POST", "/ui/app.js").status, 405);
  EXPECT_EQ(Fetch(server_->port(), "GET", "/ui/app.js/x").status, 404);
}

TEST_F(StaticAssetsTest, WithoutAnIndexThePrefixSaysSo) {
  Start(std::span<const StaticAsset>(kAssets).subspan(1));
  ClientResponse r = Fetch(server_->port(), "GET", "/ui");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("index.html"), std::string::npos);
}

}  // namespace
}  // namespace sprawl::admin
