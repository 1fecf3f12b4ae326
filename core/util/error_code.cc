#include "core/util/error_code.h"

namespace sprawl {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
#define SPRAWL_X(name, number, text, retriable, meaning) \
  case ErrorCode::name:                                  \
    return text;
    SPRAWL_ERROR_CODES(SPRAWL_X)
#undef SPRAWL_X
  }
  return "UNKNOWN";
}

bool ErrorCodeRetriable(ErrorCode code) {
  switch (code) {
#define SPRAWL_X(name, number, text, retriable, meaning) \
  case ErrorCode::name:                                  \
    return retriable;
    SPRAWL_ERROR_CODES(SPRAWL_X)
#undef SPRAWL_X
  }
  return false;
}

std::string_view ErrorCodeMeaning(ErrorCode code) {
  switch (code) {
#define SPRAWL_X(name, number, text, retriable, meaning) \
  case ErrorCode::name:                                  \
    return meaning;
    SPRAWL_ERROR_CODES(SPRAWL_X)
#undef SPRAWL_X
  }
  return "Unknown error code.";
}

}  // namespace sprawl
