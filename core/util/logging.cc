#include "core/util/logging.h"
#include "core/util/thread_annotations.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace sprawl::log {
namespace {

// spdlog stamps each line when it is logged; UTC with millisecond precision, ISO 8601.
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %v";
constexpr const char* kJsonPattern = "{\"ts\":\"%Y-%m-%dT%H:%M:%S.%eZ\",%v}";

struct State {
  // Writers hold it shared while they format and log; Configure holds it exclusively, so it
  // never swaps the logger out from under a writer and the old stream is free once it returns.
  SharedMutex mu;
  Format format GUARDED_BY(mu) = Format::kText;
  std::string node_id GUARDED_BY(mu);
  std::shared_ptr<spdlog::logger> logger GUARDED_BY(mu);   // its _mt sink serializes lines
  RecordSink sink GUARDED_BY(mu);                          // replaces `logger` when set
  std::atomic<int> level{static_cast<int>(Level::kInfo)};  // read without mu by Enabled()
};

std::shared_ptr<spdlog::logger> MakeLogger(const LogOptions& options) {
  spdlog::sink_ptr sink;
  if (options.output != nullptr) {
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*options.output, /*force_flush=*/true);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  // Constructed directly rather than through spdlog's registry, so reconfiguring never clashes
  // with an existing logger name and other libraries' spdlog use is unaffected.
  auto logger = std::make_shared<spdlog::logger>("sprawl", std::move(sink));
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      options.format == Format::kJson ? kJsonPattern : kTextPattern,
      spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::trace);  // filtering happens in Enabled()
  return logger;
}

// Leaked on purpose: logging must keep working during static destruction.
State& GlobalState() {
  static State* const state = [] {
    auto* s = new State;
    WriterLock lock(s->mu);  // uncontended; keeps the guarded write provably guarded
    s->logger = MakeLogger(LogOptions{});
    return s;
  }();
  return *state;
}

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
    case Level::kOff:
      return spdlog::level::err;
  }
  return spdlog::level::err;
}

std::string_view UpperLevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "TRACE";
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
    case Level::kOff:
      return "ERROR";
  }
  return "ERROR";
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

void AppendUnicodeEscape(std::string& out, unsigned char c) {
  fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
}

// Escapes inside a quoted text value (or an event): the line must stay one line.
void AppendTextEscaped(std::string& out, std::string_view s, bool in_quotes) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (in_quotes && ch == '"') {
      out += "\\\"";
    } else if (in_quotes && ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (IsControl(c)) {
      AppendUnicodeEscape(out, c);
    } else {
      out += ch;
    }
  }
}

// logfmt convention: bare when unambiguous, quoted when the value is empty or has a space,
// quote, '=', backslash or control character.
bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == ' ' || ch == '"' || ch == '=' || ch == '\\' || IsControl(c)) return true;
  }
  return false;
}

void AppendTextValue(std::string& out, std::string_view value) {
  if (!NeedsQuotes(value)) {
    out += value;
    return;
  }
  out += '"';
  AppendTextEscaped(out, value, /*in_quotes=*/true);
  out += '"';
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return len;
}

// A JSON string literal. JSON must be valid UTF-8, and log values may carry arbitrary bytes
// from clients, so each invalid byte becomes U+FFFD rather than breaking the consumer's parser.
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      switch (ch) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            AppendUnicodeEscape(out, c);
          } else {
            out += ch;
          }
      }
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out += '"';
}

void AppendText(std::string& out, Level level, std::string_view event, std::string_view node_id,
                std::initializer_list<Field> fields) {
  out += UpperLevelName(level);
  out += ' ';
  AppendTextEscaped(out, event, /*in_quotes=*/false);
  if (!node_id.empty()) {
    out += " node=";
    AppendTextValue(out, node_id);
  }
  for (const Field& field : fields) {
    out += ' ';
    AppendTextEscaped(out, field.key, /*in_quotes=*/false);
    out += '=';
    AppendTextValue(out, field.value);
  }
}

// Everything after `{"ts":"...",`; the pattern adds the timestamp and the closing brace.
void AppendJson(std::string& out, Level level, std::string_view event, std::string_view node_id,
                std::initializer_list<Field> fields) {
  out += "\"level\":";
  AppendJsonString(out, LevelName(level));
  out += ",\"msg\":";
  AppendJsonString(out, event);
  if (!node_id.empty()) {
    out += ",\"node\":";
    AppendJsonString(out, node_id);
  }
  for (const Field& field : fields) {
    out += ',';
    AppendJsonString(out, field.key);
    out += ':';
    if (field.quoted) {
      AppendJsonString(out, field.value);
    } else {
      out += field.value;
    }
  }
}

// The node this thread works for (NodeScope); empty when none.
thread_local std::string t_node_id;

}  // namespace

Field::Field(std::string_view k, double v) : key(k), quoted(false) {
  if (std::isnan(v)) {
    value = "NaN";
    quoted = true;
  } else if (std::isinf(v)) {
    value = v > 0 ? "Inf" : "-Inf";
    quoted = true;
  } else {
    value = fmt::format("{}", v);
  }
}

void Configure(const LogOptions& options) {
  std::shared_ptr<spdlog::logger> logger = MakeLogger(options);
  State& state = GlobalState();
  {
    WriterLock lock(state.mu);
    state.format = options.format;
    state.node_id = options.node_id;
    state.logger.swap(logger);
    state.sink = options.sink;
    state.level.store(static_cast<int>(options.level), std::memory_order_relaxed);
  }
  // `logger` now holds the previous one; no writer can reach it any more.
}

Result<Level> ParseLevel(std::string_view text) {
  for (Level level : {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (EqualsIgnoreAsciiCase(text, LevelName(level))) return level;
  }
  return InvalidArgument(fmt::format(
      "unknown log level \"{}\"; expected one of: trace, debug, info, warn, error", text));
}

Result<Format> ParseFormat(std::string_view text) {
  if (EqualsIgnoreAsciiCase(text, "text")) return Format::kText;
  if (EqualsIgnoreAsciiCase(text, "json")) return Format::kJson;
  return InvalidArgument(
      fmt::format("unknown log format \"{}\"; expected one of: text, json", text));
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "error";
}

void SetLevel(Level level) {
  GlobalState().level.store(static_cast<int>(level), std::memory_order_relaxed);
}

Level CurrentLevel() {
  return static_cast<Level>(GlobalState().level.load(std::memory_order_relaxed));
}

std::string_view ComponentOf(std::string_view file_name) {
  // The last "core/<dir>/" or "server/" that starts a path segment wins: build trees and
  // compiler caches may put anything before it.
  std::string_view component = "sprawl";
  for (size_t at = 0; at < file_name.size(); ++at) {
    if (at != 0 && file_name[at - 1] != '/') continue;
    std::string_view rest = file_name.substr(at);
    if (rest.starts_with("server/")) {
      component = "server";
    } else if (rest.starts_with("core/")) {
      rest.remove_prefix(5);
      const size_t slash = rest.find('/');
      if (slash != std::string_view::npos && slash > 0) component = rest.substr(0, slash);
    }
  }
  return component;
}

NodeScope::NodeScope(std::string node_id) : previous_(std::move(t_node_id)) {
  t_node_id = std::move(node_id);
}

NodeScope::~NodeScope() { t_node_id = std::move(previous_); }

bool Enabled(Level level) {
  return static_cast<int>(level) >= GlobalState().level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view event, std::initializer_list<Field> fields,
           const char* file) {
  if (level == Level::kOff || !Enabled(level)) return;
  WriteFrom(ComponentOf(file != nullptr ? file : ""), level, event, fields);
}

void WriteFrom(std::string_view component, Level level, std::string_view event,
               std::initializer_list<Field> fields) {
  if (level == Level::kOff || !Enabled(level)) return;
  State& state = GlobalState();
  ReaderLock lock(state.mu);
  const std::string_view node_id = t_node_id.empty() ? state.node_id : t_node_id;
  if (state.sink) {
    state.sink(Record{.level = level,
                      .component = component,
                      .message = event,
                      .node_id = node_id,
                      .fields = std::span<const Field>(fields.begin(), fields.size()),
                      .time = std::chrono::system_clock::now()});
    return;
  }
  std::string body;
  body.reserve(128);
  if (state.format == Format::kJson) {
    AppendJson(body, level, event, node_id, fields);
  } else {
    AppendText(body, level, event, node_id, fields);
  }
  // The string_view_t overload logs the text verbatim; JSON braces are not format fields.
  state.logger->log(ToSpdlog(level), spdlog::string_view_t(body.data(), body.size()));
}

}  // namespace sprawl::log
