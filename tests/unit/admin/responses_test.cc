#include "core/admin/responses.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sprawl::admin {
namespace {

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(HttpResponsesTest, StatusTableCoversEveryCode) {
  const std::vector<std::pair<ErrorCode, int>> table = {
      {ErrorCode::kOk, 200},
      {ErrorCode::kInvalidArgument, 400},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kAlreadyExists, 409},
      {ErrorCode::kOffsetOutOfRange, 416},
      {ErrorCode::kDataCorruption, 500},
      {ErrorCode::kIoError, 500},
      {ErrorCode::kNotAStore, 500},
      {ErrorCode::kUnsupportedVersion, 500},
      {ErrorCode::kResourceExhausted, 429},
      {ErrorCode::kClosed, 503},
      {ErrorCode::kTimeout, 504},
      {ErrorCode::kInternal, 500},
      {ErrorCode::kNotLeader, 421},
      {ErrorCode::kOutOfOrderSequence, 500},
      {ErrorCode::kMessageTooLarge, 413},
      {ErrorCode::kRetryAfter, 429},
      {ErrorCode::kUnknownMember, 404},
  };
  for (const auto& [code, status] : table) {
    EXPECT_EQ(HttpStatusFor(code), status) << ErrorCodeName(code);
  }
  EXPECT_EQ(HttpStatusFor(static_cast<ErrorCode>(999)), 500);
}

TEST(HttpResponsesTest, ErrorResponseHasTheOneShape) {
  HttpResponse r = ErrorResponse(NotFound("topic 'x' does not exist"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.headers.empty());
  const nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"error":{"code":"NOT_FOUND","code_number":2,
      "message":"topic 'x' does not exist","retriable":false}})"));
}

TEST(HttpResponsesTest, RetriableOverloadGetsRetryAfter) {
  HttpResponse r = ErrorResponse(Status(ErrorCode::kRetryAfter, "over capacity"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "1");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["retriable"], true);

  r = ErrorResponse(ResourceExhausted("queue full"), std::chrono::seconds(7));
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "7");

  // CLOSED is 503 but not retriable by default: no Retry-After.
  r = ErrorResponse(Closed("stopping"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "");
  // Retriable but not an overload status: no Retry-After either.
  r = ErrorResponse(Timeout("slow"));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "");
}

TEST(HttpResponsesTest, InvalidUtf8InAMessageIsReplacedNotThrown) {
  HttpResponse r = ErrorResponse(InvalidArgument("bad name '\xff\xfe'"));
  EXPECT_FALSE(nlohmann::json::parse(r.body, nullptr, false).is_discarded());
}

TEST(HttpResponsesTest, JsonAndTextResponses) {
  HttpResponse j = JsonResponse({{"a", 1}}, 201);
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.body, R"({"a":1})");
  EXPECT_EQ(j.content_type, "application/json");
  HttpResponse t = TextResponse("x 1\n", kPrometheusContentType);
  EXPECT_EQ(t.status, 200);
  EXPECT_EQ(t.content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(HttpResponsesTest, RequestHeaderLookupIgnoresCase) {
  HttpRequest r;
  r.headers["content-type"] = "application/json";
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("accept"), "");
}

}  // namespace
}  // namespace sprawl::admin
