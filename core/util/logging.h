#pragma once

// Structured logging: one event name plus key=value fields per line, as text
// (logfmt-like) or as one JSON object per line, on top of spdlog (which owns
// the sinks, the timestamps and the per-line locking).
//
//   log::Info("partition recovered", {{"topic", topic}, {"partition", 3}});
//   2026-11-23T08:55:10.123Z INFO partition recovered node=n1 topic=orders partition=3
//   {"ts":"2026-11-23T08:55:10.123Z","level":"info","msg":"partition recovered","node":"n1",
//    "topic":"orders","partition":3}

#include <chrono>
#include <concepts>
#include <functional>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/util/result.h"

namespace sprawl::log {

// Severity, lowest first; a line is written when its level is at least the configured one.
// kOff is only ever a configured level: it writes nothing (no line has it).
enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
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

// One line as a RecordSink sees it. The views live for the sink's call only: a sink that keeps
// a record copies it.
struct Record {
  Level level;
  // The part of the core that wrote it ("broker", "storage", "node", ...): the directory under
  // core/ of the writing source file ("server" for the server binaries, "sprawl" otherwise).
  std::string_view component;
  std::string_view message;
  // The node the writing thread works for (see NodeScope), else LogOptions::node_id; may be empty.
  std::string_view node_id;
  std::span<const Field> fields;
  std::chrono::system_clock::time_point time;
};

// Takes each enabled line instead of the text or JSON output. Called on the writing thread (any
// core thread, possibly many at once) while Configure waits for it, so it must be thread-safe,
// must not block and must not log.
using RecordSink = std::function<void(const Record&)>;

struct LogOptions {
  Level level = Level::kInfo;
  Format format = Format::kText;
  std::string node_id;             // added to every line as node=...; omitted when empty
  std::ostream* output = nullptr;  // nullptr = stderr; must outlive the next Configure call
  RecordSink sink;                 // when set, lines go to it and format/output are unused
};

// Replaces the process-wide logging configuration. Thread-safe: waits for writes in flight,
// so once it returns the previous `output` stream is no longer used.
void Configure(const LogOptions& options);

// Changes only the level of the current configuration. Thread-safe and lock-free.
void SetLevel(Level level);
// The configured level.
Level CurrentLevel();

// The component of a line written from `file_name` (a __FILE__ path): the
// directory under core/ ("core/broker/broker.cc" -> "broker"), "server" under server/, else
// "sprawl".
std::string_view ComponentOf(std::string_view file_name);

// Names the node the calling thread works for while it lives (the node's own threads, and its
// start and stop), so that lines of several nodes in one process say which node wrote them.
// Nests: the previous name comes back at the end of the scope.
class NodeScope {
 public:
  explicit NodeScope(std::string node_id);
  ~NodeScope();
  NodeScope(const NodeScope&) = delete;
  NodeScope& operator=(const NodeScope&) = delete;

 private:
  std::string previous_;
};

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
// enabled; `file`, the caller's source file (filled in by the compiler, as std::source_location
// would but with clang 14 and libstdc++ too), names the component (ComponentOf). Thread-safe; lines
// from concurrent writers never interleave.
void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {},
           const char* file = __builtin_FILE());

// Write with the component given rather than taken from the source file: for records that come
// from outside the core (a binding's own, or a host testing its logging set-up).
void WriteFrom(std::string_view component, Level level, std::string_view event,
               std::initializer_list<Field> fields = {});

// Write at a fixed level.
inline void Trace(std::string_view event, std::initializer_list<Field> fields = {},
                  const char* file = __builtin_FILE()) {
  Write(Level::kTrace, event, fields, file);
}
inline void Debug(std::string_view event, std::initializer_list<Field> fields = {},
                  const char* file = __builtin_FILE()) {
  Write(Level::kDebug, event, fields, file);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {},
                 const char* file = __builtin_FILE()) {
  Write(Level::kInfo, event, fields, file);
}
inline void Warn(std::string_view event, std::initializer_list<Field> fields = {},
                 const char* file = __builtin_FILE()) {
  Write(Level::kWarn, event, fields, file);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {},
                  const char* file = __builtin_FILE()) {
  Write(Level::kError, event, fields, file);
}

}  // namespace sprawl::log
