// Errors, buffers and the version.
#include <cstdlib>
#include <cstring>

#include "handles.h"

namespace sprawl::cabi {

sprawl_status_t Fail(sprawl_error_t** err, const Status& status) {
  if (err != nullptr) {
    *err = new (std::nothrow) sprawl_error{status};
  }
  return static_cast<sprawl_status_t>(status.code());
}

sprawl_status_t NullArgument(sprawl_error_t** err, const char* what) {
  return Fail(err, InvalidArgument(std::string(what) + " must not be NULL"));
}

Status ClosedClient() { return Status(ErrorCode::kClosed, "the client is closed"); }

namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t min;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    uint32_t cp = c & (0x3F >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past Unicode are not UTF-8.
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

Result<std::string> StringArgument(const char* text, const char* what) {
  if (text == nullptr) return InvalidArgument(std::string(what) + " must not be NULL");
  std::string value(text);
  if (value.empty()) return InvalidArgument(std::string(what) + " must not be empty");
  if (!ValidUtf8(value)) return InvalidArgument(std::string(what) + " is not valid UTF-8");
  return value;
}

void ReturnString(char** out, const std::string& text) {
  if (out == nullptr) return;
  auto* buffer = static_cast<char*>(std::malloc(text.size() + 1));
  if (buffer != nullptr) std::memcpy(buffer, text.c_str(), text.size() + 1);
  *out = buffer;
}

}  // namespace sprawl::cabi

extern "C" {

sprawl_status_t sprawl_error_code(const sprawl_error_t* error) {
  return error == nullptr ? SPRAWL_INVALID_ARGUMENT
                          : static_cast<sprawl_status_t>(error->status.code());
}

const char* sprawl_error_code_name(const sprawl_error_t* error) {
  if (error == nullptr) return "INVALID_ARGUMENT";
  // ErrorCodeName returns a view of a string literal: NUL-terminated.
  return sprawl::ErrorCodeName(error->status.code()).data();
}

const char* sprawl_error_message(const sprawl_error_t* error) {
  return error == nullptr ? "no error" : error->status.message().c_str();
}

int sprawl_error_retriable(const sprawl_error_t* error) {
  return error != nullptr && error->status.retriable() ? 1 : 0;
}

void sprawl_error_destroy(sprawl_error_t** error) {
  if (error == nullptr) return;
  delete *error;
  *error = nullptr;
}

void sprawl_free(void* buffer) { std::free(buffer); }

const char* sprawl_version_str(void) { return SPRAWL_VERSION_STRING; }

}  // extern "C"
