#pragma once

// Structured logging: one event name plus key=value fields per line, as text
// (logfmt-like) or as one JSON object per line, on top of spdlog (which owns
// the sinks, the timestamps and the per-line locking).
//
//   log::Info("partition recovered", {{"topic", topic}, {"partition", 3}});
//   2026-11-23T08:55:10.123Z INFO partition recovered node=n1 topic=orders partition=3
//   {"ts":"2026-11-23T08:55:10.123Z","level":"info","msg":"partition recovered","node":"n1",
//    "topic":"orders","partition":3}

#include <concepts>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "core/util/result.h"

namespace sprawl::log {

// Severity, lowest first; a line is written when its level is at least the configured one.
enum class Level { kTrace, kDebug, kInfo, kWarn, kError };
// kText is for people reading a terminal; kJson is for log shippers.
enum class Format { kText, kJson };

namespace internal {
// Integers that log as numbers. bool logs as true/false, and the character types are left
// out because a char printing as its code is never what the caller meant.
template <typename T>
concept PlainInteger =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
    !std::same_as<T, signed char> && !std::same_as<T, unsigned char> && !std::same_as<T, char8_t> &&
    !std::same_as<T, char16_t> && !std::same_as<T, char32_t> && !std::same_as<T, wchar_t>;
}  // namespace internal

// One key=value pair of a log line. Fields live only for the Write call that takes them, so
// `key` may point at a temporary. `quoted` is false for numbers and bools, which JSON writes bare.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v), quoted(true) {}
  Field(std::string_view k, const char* v) : key(k), value(v != nullptr ? v : ""), quoted(true) {}
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)), quoted(true) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}
  // Any integer type except bool and the character types (a char would print as a number).
  template <internal::PlainInteger T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}
  // Any other pointer would silently become a bool; log what it points at instead.
  Field(std::string_view k, const volatile void* v) = delete;
  // Shortest round-trip decimal; NaN and infinities become quoted strings, as JSON has no
  // literal for them.
  Field(std::string_view k, double v);

  std::string_view key;
  std::string value;
  bool quoted;
};

struct LogOptions {
  Level level = Level::kInfo;
  Format format = Format::kText;
  std::string node_id;             // added to every line as node=...; omitted when empty
  std::ostream* output = nullptr;  // nullptr = stderr; must outlive the next Configure call
};

// Replaces the process-wide logging configuration. Thread-safe: waits for writes in flight,
// so once it returns the previous `output` stream is no longer used.
void Configure(const LogOptions& options);

// Parses "trace", "debug", "info", "warn" or "error" (ASCII case-insensitive); otherwise an
// InvalidArgument error that lists the choices.
Result<Level> ParseLevel(std::string_view text);
// Parses "text" or "json" (ASCII case-insensitive); otherwise InvalidArgument listing them.
Result<Format> ParseFormat(std::string_view text);

// The lowercase name of `level` as ParseLevel accepts it and JSON lines print it.
std::string_view LevelName(Level level);

// Whether a line at `level` would be written; check it before building expensive fields.
// Thread-safe and lock-free.
bool Enabled(Level level);

// Writes one line with `event` as the message followed by `fields` in order, if `level` is
// enabled. Thread-safe; lines from concurrent writers never interleave.
void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

// Write at a fixed level.
inline void Trace(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kTrace, event, fields);
}
inline void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, event, fields);
}

}  // namespace sprawl::log
