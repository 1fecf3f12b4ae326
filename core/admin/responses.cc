#include "core/admin/responses.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace sprawl::admin {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
    case ErrorCode::kUnknownMember:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kProducerFenced:
      return 409;
    case ErrorCode::kMessageTooLarge:
      return 413;
    case ErrorCode::kOffsetOutOfRange:
      return 416;
    case ErrorCode::kNotLeader:
      return 421;
    case ErrorCode::kRetryAfter:
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kClosed:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kDataCorruption:
    case ErrorCode::kIoError:
    case ErrorCode::kNotAStore:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kInternal:
    case ErrorCode::kOutOfOrderSequence:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& status, std::chrono::seconds retry_after) {
  HttpResponse r;
  r.status = HttpStatusFor(status.code());
  const nlohmann::json body = {{"error",
                                {{"code", std::string(ErrorCodeName(status.code()))},
                                 {"code_number", static_cast<int>(status.code())},
                                 {"message", status.message()},
                                 {"retriable", status.retriable()}}}};
  // Replace invalid UTF-8 in messages (they may quote client input) instead of throwing.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status.retriable() && (r.status == 429 || r.status == 503)) {
    const auto seconds = std::max<std::chrono::seconds::rep>(1, retry_after.count());
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
  }
  return r;
}

HttpResponse ErrorResponse(const Status& status) {
  return ErrorResponse(status, std::chrono::seconds(1));
}

HttpResponse JsonResponse(const nlohmann::json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse TextResponse(std::string body, std::string content_type, int status) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

}  // namespace sprawl::admin
