#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/admin/http_message.h"
#include "core/util/status.h"

namespace sprawl::admin {

// The Content-Type of the Prometheus text exposition format 0.0.4.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// The one table from error codes to HTTP statuses (docs/http-api.md mirrors it):
//   OK 200, INVALID_ARGUMENT 400, NOT_FOUND 404, UNKNOWN_MEMBER 404,
//   ALREADY_EXISTS 409, MESSAGE_TOO_LARGE 413, OFFSET_OUT_OF_RANGE 416,
//   NOT_LEADER 421, RETRY_AFTER 429, RESOURCE_EXHAUSTED 429, CLOSED 503,
//   TIMEOUT 504, every other code 500.
int HttpStatusFor(ErrorCode code);

// A JSON error in the one shape of the API,
//   {"error": {"code": "NOT_FOUND", "code_number": 2, "message": "...", "retriable": false}}
// with the status from HttpStatusFor. A retriable error answered with 429 or
// 503 also carries "Retry-After: 1" (seconds). Precondition: !status.ok().
HttpResponse ErrorResponse(const Status& status);
// As above with an explicit Retry-After (whole seconds, at least 1) on a 429 or 503.
HttpResponse ErrorResponse(const Status& status, std::chrono::seconds retry_after);

// `body` serialized as JSON with `status`.
HttpResponse JsonResponse(const nlohmann::json& body, int status = 200);

// A plain response with the given content type.
HttpResponse TextResponse(std::string body, std::string content_type, int status = 200);

}  // namespace sprawl::admin
