#include "core/admin/router.h"

#include <gtest/gtest.h>

#include "core/admin/request_target.h"

namespace sprawl::admin {
namespace {

Handler Named(std::string name, std::string* called) {
  return [name, called](HttpRequest, Responder) { *called = name; };
}

RouteMatch MatchTarget(const Router& router, const std::string& method, const std::string& target) {
  Result<RequestTarget> parsed = ParseRequestTarget(target);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return router.Match(method, parsed.ok() ? parsed->segments : std::vector<std::string>{});
}

TEST(HttpRequestTargetTest, SplitsPathAndDecodesQuery) {
  Result<RequestTarget> t =
      ParseRequestTarget("/v1/topics/a%20b/partitions?wait_ms=10&q=x%2By+z&flag");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->path, "/v1/topics/a b/partitions");
  EXPECT_EQ(t->segments, (std::vector<std::string>{"v1", "topics", "a b", "partitions"}));
  EXPECT_EQ(t->query.at("wait_ms"), "10");
  EXPECT_EQ(t->query.at("q"), "x+y z");
  EXPECT_EQ(t->query.at("flag"), "");
  EXPECT_EQ(t->query.size(), 3u);
}

TEST(HttpRequestTargetTest, EncodedSlashStaysInsideItsSegmentAndPlusStaysInPaths) {
  Result<RequestTarget> t = ParseRequestTarget("/v1/topics/a%2Fb+c");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->segments, (std::vector<std::string>{"v1", "topics", "a/b+c"}));
}

TEST(HttpRequestTargetTest, EmptySegmentsAndQueryPiecesAreDropped) {
  Result<RequestTarget> t = ParseRequestTarget("//health/?&&a=1&&a=2&");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->segments, (std::vector<std::string>{"health"}));
  EXPECT_EQ(t->query.size(), 1u);
  EXPECT_EQ(t->query.at("a"), "2");  // the last repeat wins
}

TEST(HttpRequestTargetTest, BadEscapesAndNonOriginFormsAreInvalidArgument) {
  for (const char* bad : {"/a%zz", "/a%4", "/a?x=%", "/a?%g1=2", "*", "http://h/x", ""}) {
    Result<RequestTarget> t = ParseRequestTarget(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(HttpRequestTargetTest, PercentDecodeHandlesUpperAndLowerHex) {
  Result<std::string> s = PercentDecode("%41%6a%7E+", /*plus_is_space=*/true);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "Aj~ ");
}

TEST(HttpRouterTest, MatchesLiteralAndParameterSegments) {
  std::string called;
  Router router;
  router.Add("GET", "/v1/topics", Named("list", &called));
  router.Add("GET", "/v1/topics/{topic}/partitions", Named("partitions", &called));
  router.Add("GET", "/v1/groups/{group}/members/{member}", Named("member", &called));

  RouteMatch m = MatchTarget(router, "GET", "/v1/topics/orders/partitions");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/v1/topics/{topic}/partitions");
  EXPECT_EQ(m.params, (std::map<std::string, std::string>{{"topic", "orders"}}));
  (*m.handler)(HttpRequest{}, nullptr);
  EXPECT_EQ(called, "partitions");

  m = MatchTarget(router, "GET", "/v1/groups/g%201/members/m-2");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params, (std::map<std::string, std::string>{{"group", "g 1"}, {"member", "m-2"}}));

  m = MatchTarget(router, "GET", "/v1/topics/");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/v1/topics");
  EXPECT_TRUE(m.params.empty());
}

TEST(HttpRouterTest, UnknownPathIs404) {
  std::string called;
  Router router;
  router.Add("GET", "/v1/topics/{topic}", Named("describe", &called));
  for (const char* target : {"/", "/v1", "/v1/topics/a/b", "/v2/topics/a"}) {
    RouteMatch m = MatchTarget(router, "GET", target);
    EXPECT_EQ(m.handler, nullptr) << target;
    EXPECT_EQ(m.status, 404) << target;
    EXPECT_TRUE(m.allow.empty()) << target;
  }
}

TEST(HttpRouterTest, KnownPathWithAnotherMethodIs405WithSortedAllow) {
  std::string called;
  Router router;
  router.Add("PATCH", "/v1/topics/{topic}", Named("alter", &called));
  router.Add("GET", "/v1/topics/{topic}", Named("describe", &called));
  router.Add("DELETE", "/v1/topics/{topic}", Named("delete", &called));
  RouteMatch m = MatchTarget(router, "POST", "/v1/topics/orders");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "DELETE, GET, PATCH");
  EXPECT_TRUE(m.params.empty());
}

TEST(HttpRouterTest, MostSpecificPatternWinsWhateverTheOrder) {
  std::string called;
  Router router;
  router.Add("GET", "/v1/groups/{group}", Named("describe", &called));
  router.Add("GET", "/v1/{kind}/stats", Named("kind-stats", &called));
  router.Add("GET", "/v1/groups/stats", Named("stats", &called));

  RouteMatch m = MatchTarget(router, "GET", "/v1/groups/stats");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/v1/groups/stats");
  EXPECT_TRUE(m.params.empty());

  m = MatchTarget(router, "GET", "/v1/groups/g1");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/v1/groups/{group}");
  EXPECT_EQ(m.params.at("group"), "g1");

  m = MatchTarget(router, "GET", "/v1/topics/stats");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/v1/{kind}/stats");
  EXPECT_EQ(m.params.at("kind"), "topics");
}

TEST(HttpRouterTest, RootPatternMatchesOnlyTheRoot) {
  std::string called;
  Router router;
  router.Add("GET", "/", Named("root", &called));
  EXPECT_NE(MatchTarget(router, "GET", "/").handler, nullptr);
  EXPECT_EQ(MatchTarget(router, "GET", "/x").status, 404);
  EXPECT_EQ(router.Patterns(), std::vector<std::string>{"/"});
}

TEST(HttpRouterDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::string called;
  EXPECT_DEATH(
      {
        Router router;
        router.Add("GET", "no-slash", Named("x", &called));
      },
      "must start with '/'");
  EXPECT_DEATH(
      {
        Router router;
        router.Add("GET", "/a/{b", Named("x", &called));
      },
      "malformed segment");
  EXPECT_DEATH(
      {
        Router router;
        router.Add("GET", "/a/{}", Named("x", &called));
      },
      "malformed segment");
  EXPECT_DEATH(
      {
        Router router;
        router.Add("GET", "/a/{x}/{x}", Named("x", &called));
      },
      "repeats");
  EXPECT_DEATH(
      {
        Router router;
        router.Add("GET", "/a/{x}", Named("x", &called));
        router.Add("GET", "/a/{y}", Named("y", &called));
      },
      "registered twice");
}

}  // namespace
}  // namespace sprawl::admin
