#include "core/util/logging.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sprawl::log {
namespace {

const char* const kTimestamp = R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Each test logs into its own stream and restores the process default (stderr, info, text)
// afterwards, so no stream outlives its test.
class LoggingTest : public testing::Test {
 protected:
  void Use(Level level, Format format, std::string node_id = "n1") {
    out_.str("");
    Configure(LogOptions{.level = level,
                         .format = format,
                         .node_id = std::move(node_id),
                         .output = &out_,
                         .sink = {}});
  }
  void TearDown() override { Configure(LogOptions{}); }

  std::ostringstream out_;
};

TEST_F(LoggingTest, TextLineHasTimestampLevelEventAndFields) {
  Use(Level::kInfo, Format::kText);
  Info("partition recovered",
       {{"topic", "orders"}, {"partition", 3}, {"note", "two words"}, {"ok", true}});
  const std::string line = out_.str();
  EXPECT_TRUE(std::regex_match(
      line, std::regex(std::string("^") + kTimestamp +
                       R"( INFO partition recovered node=n1 topic=orders partition=3 )"
                       R"(note="two words" ok=true\n$)")))
      << line;
}

TEST_F(LoggingTest, TextQuotesAndEscapesValuesThatNeedIt) {
  Use(Level::kInfo, Format::kText, "");
  const std::string with_string = "a=b";
  Warn("odd values", {{"eq", with_string},
                      {"quote", std::string_view("say \"hi\"")},
                      {"newline", "x\ny"},
                      {"backslash", "c:\\tmp"},
                      {"empty", ""},
                      {"ctrl", "\x01"},
                      {"plain", "abc-123/x"}});
  const std::string line = out_.str();
  const std::size_t body = line.find(" WARN ");
  ASSERT_NE(body, std::string::npos) << line;
  EXPECT_EQ(line.substr(body),
            " WARN odd values eq=\"a=b\" quote=\"say \\\"hi\\\"\" newline=\"x\\ny\" "
            "backslash=\"c:\\\\tmp\" empty=\"\" ctrl=\"\\u0001\" plain=abc-123/x\n");
}

TEST_F(LoggingTest, TextEventNewlinesCannotBreakTheLine) {
  Use(Level::kInfo, Format::kText, "");
  Error("first\nsecond");
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("ERROR first\\nsecond"), std::string::npos) << lines[0];
}

TEST_F(LoggingTest, NumbersOfEveryWidthFormat) {
  Use(Level::kInfo, Format::kText, "");
  Info("numbers", {{"u64", std::numeric_limits<uint64_t>::max()},
                   {"i64", std::numeric_limits<int64_t>::min()},
                   {"short", static_cast<short>(-7)},
                   {"ratio", 0.25},
                   {"float", 1.5f}});
  EXPECT_NE(out_.str().find(" numbers u64=18446744073709551615 i64=-9223372036854775808 short=-7 "
                            "ratio=0.25 float=1.5\n"),
            std::string::npos)
      << out_.str();
}

TEST_F(LoggingTest, JsonLineIsOneObjectWithTypedFields) {
  Use(Level::kDebug, Format::kJson);
  Debug("partition recovered", {{"topic", "orders"},
                                {"partition", 3},
                                {"ratio", 0.5},
                                {"leader", false},
                                {"count", uint64_t{12345678901234}}});
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(out_.str().back(), '\n');
  const std::string& line = lines[0];
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  // Key order is part of the shape: ts, level, msg, node, then fields as given.
  EXPECT_EQ(line.find("{\"ts\":\""), 0u) << line;
  EXPECT_NE(line.find("\",\"level\":\"debug\",\"msg\":\"partition recovered\",\"node\":\"n1\","
                      "\"topic\":\"orders\",\"partition\":3,\"ratio\":0.5,\"leader\":false,"
                      "\"count\":12345678901234}"),
            std::string::npos)
      << line;

  const nlohmann::json json = nlohmann::json::parse(line);
  EXPECT_TRUE(std::regex_match(json["ts"].get<std::string>(), std::regex(kTimestamp)));
  EXPECT_EQ(json["level"], "debug");
  EXPECT_EQ(json["msg"], "partition recovered");
  EXPECT_EQ(json["node"], "n1");
  EXPECT_EQ(json["topic"], "orders");
  EXPECT_TRUE(json["partition"].is_number_integer());
  EXPECT_EQ(json["partition"], 3);
  EXPECT_EQ(json["ratio"], 0.5);
  EXPECT_TRUE(json["leader"].is_boolean());
  EXPECT_EQ(json["leader"], false);
  EXPECT_EQ(json["count"].get<uint64_t>(), 12345678901234u);
}

TEST_F(LoggingTest, JsonOmitsNodeWhenUnset) {
  Use(Level::kInfo, Format::kJson, "");
  Info("started");
  const nlohmann::json json = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_FALSE(json.contains("node"));
  EXPECT_EQ(json["msg"], "started");
  EXPECT_EQ(json["level"], "info");
}

TEST_F(LoggingTest, JsonEscapesStringsAndControlCharacters) {
  Use(Level::kInfo, Format::kJson);
  const std::string nasty = std::string("q\"b\\n\nt\tc\x01") + '\0' + "\x1f" + "é";
  Info("esc\"aped", {{"value", nasty}, {"key \"odd\"", 1}});
  const std::string line = Lines(out_.str()).at(0);
  EXPECT_NE(line.find(R"("value":"q\"b\\n\nt\tc\u0001\u0000\u001fé")"), std::string::npos) << line;
  const nlohmann::json json = nlohmann::json::parse(line);
  EXPECT_EQ(json["msg"], "esc\"aped");
  EXPECT_EQ(json["value"].get<std::string>(), nasty);
  EXPECT_EQ(json["key \"odd\""], 1);
}

TEST_F(LoggingTest, JsonReplacesInvalidUtf8SoTheLineStillParses) {
  Use(Level::kInfo, Format::kJson);
  Info("bytes", {{"raw", "ok\xff\xc3"}, {"surrogate", "\xed\xa0\x80"}});
  const nlohmann::json json = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_EQ(json["raw"], "ok\xef\xbf\xbd\xef\xbf\xbd");  // two U+FFFD
  EXPECT_EQ(json["surrogate"], "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_F(LoggingTest, JsonWritesNonFiniteDoublesAsStrings) {
  Use(Level::kInfo, Format::kJson);
  Info("weird",
       {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()}, {"tiny", 1e-300}});
  const nlohmann::json json = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_EQ(json["nan"], "NaN");
  EXPECT_EQ(json["inf"], "Inf");
  EXPECT_EQ(json["tiny"].get<double>(), 1e-300);
}

TEST_F(LoggingTest, LevelFilteringDropsLowerLevels) {
  Use(Level::kWarn, Format::kText);
  EXPECT_FALSE(Enabled(Level::kTrace));
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kWarn));
  EXPECT_TRUE(Enabled(Level::kError));
  Trace("t");
  Debug("d");
  Info("i");
  Warn("w");
  Error("e");
  Write(Level::kInfo, "written info");
  Write(Level::kError, "written error");
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_NE(lines[0].find(" WARN w node=n1"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" ERROR e node=n1"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" ERROR written error"), std::string::npos) << lines[2];

  Use(Level::kTrace, Format::kText);
  Trace("now visible");
  EXPECT_NE(out_.str().find(" TRACE now visible"), std::string::npos) << out_.str();
}

TEST_F(LoggingTest, ReconfigureSwitchesFormatAndStream) {
  Use(Level::kInfo, Format::kText);
  Info("as text");
  std::ostringstream second;
  LogOptions options;
  options.format = Format::kJson;
  options.output = &second;
  Configure(options);
  Info("as json");
  EXPECT_EQ(Lines(out_.str()).size(), 1u);
  const nlohmann::json json = nlohmann::json::parse(Lines(second.str()).at(0));
  EXPECT_EQ(json["msg"], "as json");
  Configure(LogOptions{});  // `second` dies before TearDown runs
}

TEST_F(LoggingTest, ConcurrentWritersNeverInterleaveWithinALine) {
  Use(Level::kInfo, Format::kText);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      const std::string padding(200, static_cast<char>('a' + t));
      for (int i = 0; i < kPerThread; ++i) {
        Info("tick", {{"thread", t}, {"i", i}, {"pad", padding}});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  const std::regex shape(std::string("^") + kTimestamp +
                         R"( INFO tick node=n1 thread=(\d) i=\d+ pad=([a-d])\2{199}$)");
  for (const std::string& line : lines) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, shape)) << line;
    EXPECT_EQ(match[2].str()[0], static_cast<char>('a' + (match[1].str()[0] - '0'))) << line;
  }
}

TEST(ParseLevelTest, AcceptsEveryLevelCaseInsensitively) {
  EXPECT_EQ(ParseLevel("trace").value(), Level::kTrace);
  EXPECT_EQ(ParseLevel("debug").value(), Level::kDebug);
  EXPECT_EQ(ParseLevel("info").value(), Level::kInfo);
  EXPECT_EQ(ParseLevel("warn").value(), Level::kWarn);
  EXPECT_EQ(ParseLevel("error").value(), Level::kError);
  EXPECT_EQ(ParseLevel("WARN").value(), Level::kWarn);
  for (Level level : {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    EXPECT_EQ(ParseLevel(LevelName(level)).value(), level);
  }
}

TEST(ParseLevelTest, RejectsUnknownLevelListingTheChoices) {
  for (std::string_view bad : {"verbose", "", "warning", "info "}) {
    const Result<Level> result = ParseLevel(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_FALSE(result.status().retriable());
    EXPECT_NE(result.status().message().find("\"" + std::string(bad) + "\""), std::string::npos)
        << result.status().message();
    EXPECT_NE(result.status().message().find("trace, debug, info, warn, error"), std::string::npos)
        << result.status().message();
  }
}

TEST(ParseFormatTest, AcceptsTextAndJson) {
  EXPECT_EQ(ParseFormat("text").value(), Format::kText);
  EXPECT_EQ(ParseFormat("json").value(), Format::kJson);
  EXPECT_EQ(ParseFormat("JSON").value(), Format::kJson);
}

TEST(ParseFormatTest, RejectsUnknownFormatListingTheChoices) {
  const Result<Format> result = ParseFormat("yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("\"yaml\""), std::string::npos);
  EXPECT_NE(result.status().message().find("text, json"), std::string::npos);
}

}  // namespace
}  // namespace sprawl::log
