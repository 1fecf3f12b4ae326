#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/storage/partition_log.h"
#include "core/storage/record_batch.h"
#include "core/util/metrics.h"

namespace sprawl::storage::testing {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sprawl-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `done` every millisecond for up to 10 s; says whether it came true.
template <typename Pred>
bool WaitFor(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A batch of `count` records with values "<prefix>-<i>" and timestamps
// `first_ts + i`.
inline std::string MakeBatch(int count, const std::string& prefix, int64_t first_ts = 1000,
                             Compression compression = Compression::kNone) {
  RecordBatchBuilder builder(compression);
  for (int i = 0; i < count; ++i) {
    const std::string value = prefix + "-" + std::to_string(i);
    builder.Add(std::nullopt, value, first_ts + i);
  }
  auto built = builder.Build();
  EXPECT_TRUE(built.ok());
  return std::move(built).value();
}

// Every record value from `from` to the end of the log, in order, skipping
// records below `from` in the first batch.
inline std::vector<std::string> ReadValues(const PartitionLog& log, uint64_t from) {
  std::vector<std::string> values;
  uint64_t offset = from;
  while (offset < log.NextOffset()) {
    ReadLimits limits;
    limits.max_bytes = 4096;
    auto result = log.Read(offset, limits);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok() || result->batches.empty()) break;
    for (const auto& batch : result->batches) {
      auto view = RecordBatchView::Parse(*batch.bytes);
      EXPECT_TRUE(view.ok());
      auto it = view->Records();
      RecordView r;
      while (it->Next(&r)) {
        if (r.offset >= offset) values.emplace_back(r.value);
      }
    }
    offset = result->next_offset;
  }
  return values;
}

// The value of an unlabelled counter or gauge in `registry`, 0 if absent.
inline uint64_t MetricValue(const metrics::Registry& registry, const std::string& name) {
  const std::string text = registry.RenderPrometheus();
  const std::string sample = "\n" + name + " ";
  const size_t at = text.find(sample);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + sample.size()));
}

}  // namespace sprawl::storage::testing
