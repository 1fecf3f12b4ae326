#include "core/storage/record_batch.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/storage/batch_format.h"
#include "core/util/checksum.h"

#include <cstring>

namespace sprawl::storage {
namespace {

std::string BuildBatch(Compression c, int records, ProducerStamp producer = {}) {
  RecordBatchBuilder builder(c, producer);
  for (int i = 0; i < records; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const std::string value = "value-" + std::to_string(i) + std::string(50, 'x');
    const std::string trace = "trace-" + std::to_string(i);
    builder.Add(RecordInput{i % 3 == 0 ? std::nullopt : std::optional<std::string_view>(key),
                            value,
                            {{"trace", trace}, {"empty", ""}},
                            1000 + i * 7});
  }
  auto built = builder.Build();
  EXPECT_TRUE(built.ok()) << built.status().ToString();
  return std::move(built).value();
}

class RecordBatchCodecTest : public ::testing::TestWithParam<Compression> {};

TEST_P(RecordBatchCodecTest, RoundTripsEveryField) {
  std::string bytes = BuildBatch(GetParam(), 25, {42, 7});
  StampBatch(&bytes, 1000, 3);
  auto view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_TRUE(view->Validate().ok());
  EXPECT_EQ(view->base_offset(), 1000u);
  EXPECT_EQ(view->last_offset(), 1024u);
  EXPECT_EQ(view->term(), 3u);
  EXPECT_EQ(view->record_count(), 25u);
  EXPECT_EQ(view->first_timestamp_ms(), 1000);
  EXPECT_EQ(view->max_timestamp_ms(), 1000 + 24 * 7);
  EXPECT_EQ(view->producer().producer_id, 42u);
  EXPECT_EQ(view->producer().base_sequence, 7u);
  EXPECT_EQ(view->compression(), GetParam());

  auto it = view->Records();
  ASSERT_TRUE(it.ok());
  RecordView r;
  int i = 0;
  while (it->Next(&r)) {
    EXPECT_EQ(r.offset, 1000u + i);
    EXPECT_EQ(r.timestamp_ms, 1000 + i * 7);
    if (i % 3 == 0) {
      EXPECT_FALSE(r.key.has_value());
    } else {
      ASSERT_TRUE(r.key.has_value());
      EXPECT_EQ(*r.key, "key-" + std::to_string(i));
    }
    EXPECT_EQ(r.value, "value-" + std::to_string(i) + std::string(50, 'x'));
    const auto headers = r.Headers();
    ASSERT_EQ(headers.size(), 2u);
    EXPECT_EQ(headers[0].name, "trace");
    EXPECT_EQ(headers[0].value, "trace-" + std::to_string(i));
    EXPECT_EQ(headers[1].name, "empty");
    EXPECT_EQ(headers[1].value, "");
    ++i;
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(i, 25);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RecordBatchCodecTest,
                         ::testing::Values(Compression::kNone, Compression::kZstd,
                                           Compression::kLz4));

TEST_P(RecordBatchCodecTest, SkipToLandsOnTheRequestedOffset) {
  std::string bytes = BuildBatch(GetParam(), 25);
  StampBatch(&bytes, 100, 1);
  auto view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok());
  auto records = view->Records();
  ASSERT_TRUE(records.ok());
  RecordView r;
  ASSERT_TRUE(records->SkipTo(117));
  ASSERT_TRUE(records->Next(&r));
  EXPECT_EQ(r.offset, 117u);
  EXPECT_EQ(r.value, "value-17" + std::string(50, 'x'));
  ASSERT_TRUE(records->SkipTo(110)) << "an offset already passed moves nothing";
  ASSERT_TRUE(records->Next(&r));
  EXPECT_EQ(r.offset, 118u);
  ASSERT_TRUE(records->SkipTo(1000));
  EXPECT_FALSE(records->Next(&r));
  EXPECT_TRUE(records->status().ok());
}

TEST(RecordBatchTest, ParseVerifiedSkipsOnlyTheChecksum) {
  std::string bytes = BuildBatch(Compression::kNone, 3);
  bytes[bytes.size() - 1] ^= 0x01;  // inside the payload: only the checksum notices
  EXPECT_EQ(RecordBatchView::Parse(bytes).status().code(), ErrorCode::kDataCorruption);
  EXPECT_TRUE(RecordBatchView::ParseVerified(bytes).ok());
  EXPECT_EQ(RecordBatchView::ParseVerified(bytes.substr(0, 20)).status().code(),
            ErrorCode::kDataCorruption)
      << "the header is still checked";
}

TEST(RecordBatchTest, AProducerEpochMakesAVersionTwoBatchAndOnlyThat) {
  RecordBatchBuilder plain(Compression::kNone, ProducerStamp{7, 3});
  plain.Add(std::nullopt, "v", 1);
  std::string v1 = *plain.Build();
  EXPECT_EQ(v1[batch_format::kVersionPos], 1) << "a batch without an epoch is unchanged";

  RecordBatchBuilder named(Compression::kNone, ProducerStamp{7, 3, 9});
  named.Add(std::nullopt, "v", 1);
  const std::string v2 = *named.Build();
  EXPECT_EQ(v2[batch_format::kVersionPos], 2);
  auto view = RecordBatchView::Parse(v2);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->producer().producer_id, 7u);
  EXPECT_EQ(view->producer().base_sequence, 3u);
  EXPECT_EQ(view->producer().epoch, 9);

  // Version 1 keeps the field reserved: an epoch there is corruption.
  v1[batch_format::kProducerEpochPos] = 1;
  EXPECT_EQ(RecordBatchView::ParseVerified(v1).status().code(), ErrorCode::kDataCorruption);
  // And an epoch without a producer id is corruption in any version.
  RecordBatchBuilder anonymous(Compression::kNone, ProducerStamp{0, 0, 9});
  anonymous.Add(std::nullopt, "v", 1);
  std::string none = *anonymous.Build();
  EXPECT_EQ(none[batch_format::kVersionPos], 1) << "no id, so no epoch is written";
  none[batch_format::kVersionPos] = 2;
  none[batch_format::kProducerEpochPos] = 9;
  EXPECT_EQ(RecordBatchView::ParseVerified(none).status().code(), ErrorCode::kDataCorruption);
}

TEST(RecordBatchTest, SkipToReportsARecordRunningPastTheBatch) {
  std::string bytes = BuildBatch(Compression::kNone, 3);
  // The first record's length becomes the varint ff 7f: 16,383 bytes.
  bytes[batch_format::kHeaderSize] = static_cast<char>(0xff);
  bytes[batch_format::kHeaderSize + 1] = static_cast<char>(0x7f);
  auto view = RecordBatchView::ParseVerified(bytes);
  ASSERT_TRUE(view.ok());
  auto records = view->Records();
  ASSERT_TRUE(records.ok());
  EXPECT_FALSE(records->SkipTo(2));
  EXPECT_EQ(records->status().code(), ErrorCode::kDataCorruption);
}

TEST(RecordBatchTest, CompressionShrinksRepetitivePayloads) {
  const std::string plain = BuildBatch(Compression::kNone, 200);
  EXPECT_LT(BuildBatch(Compression::kZstd, 200).size(), plain.size() / 2);
  EXPECT_LT(BuildBatch(Compression::kLz4, 200).size(), plain.size() / 2);
}

TEST(RecordBatchTest, StampingKeepsTheChecksumValid) {
  std::string bytes = BuildBatch(Compression::kNone, 3);
  StampBatch(&bytes, 123456789, 99);
  EXPECT_TRUE(RecordBatchView::Parse(bytes).ok());
}

TEST(RecordBatchTest, EveryFlippedByteOutsideTheStampedFieldsIsDetected) {
  const std::string original = BuildBatch(Compression::kNone, 4);
  for (size_t pos = batch_format::kChecksumPos; pos < original.size(); ++pos) {
    std::string bytes = original;
    bytes[pos] ^= 0x01;
    auto view = RecordBatchView::Parse(bytes);
    ASSERT_FALSE(view.ok()) << "flip at byte " << pos << " went unnoticed";
    EXPECT_TRUE(view.status().code() == ErrorCode::kDataCorruption ||
                view.status().code() == ErrorCode::kUnsupportedVersion)
        << view.status().ToString();
  }
}

TEST(RecordBatchTest, TruncatedBatchIsCorrupt) {
  const std::string bytes = BuildBatch(Compression::kZstd, 10);
  for (size_t len : {size_t{0}, size_t{10}, batch_format::kHeaderSize, bytes.size() - 1}) {
    auto view = RecordBatchView::Parse(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(view.ok());
    EXPECT_EQ(view.status().code(), ErrorCode::kDataCorruption) << "length " << len;
  }
}

TEST(RecordBatchTest, NewerFormatVersionIsReportedAsSuch) {
  std::string bytes = BuildBatch(Compression::kNone, 1);
  bytes[batch_format::kVersionPos] = static_cast<char>(batch_format::kBatchFormatVersion + 1);
  auto view = RecordBatchView::Parse(bytes);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), ErrorCode::kUnsupportedVersion);
}

TEST(RecordBatchTest, EmptyBatchCannotBeBuilt) {
  RecordBatchBuilder builder;
  auto built = builder.Build();
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), ErrorCode::kInvalidArgument);
}

TEST(RecordBatchTest, OversizedBatchCannotBeBuilt) {
  RecordBatchBuilder builder;
  const std::string big(batch_format::kMaxBatchBytes, 'a');
  builder.Add(std::nullopt, big, 1);
  auto built = builder.Build();
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), ErrorCode::kInvalidArgument);
}

TEST(RecordBatchTest, ExtremeTimestampsRoundTrip) {
  RecordBatchBuilder builder;
  builder.Add(std::nullopt, "a", std::numeric_limits<int64_t>::max());
  builder.Add(std::nullopt, "b", std::numeric_limits<int64_t>::min());
  auto built = builder.Build();
  ASSERT_TRUE(built.ok());
  auto view = RecordBatchView::Parse(*built);
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(view->Validate().ok());
  auto it = view->Records();
  ASSERT_TRUE(it.ok());
  RecordView r;
  ASSERT_TRUE(it->Next(&r));
  EXPECT_EQ(r.timestamp_ms, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(it->Next(&r));
  EXPECT_EQ(r.timestamp_ms, std::numeric_limits<int64_t>::min());
}

TEST(RecordBatchTest, BuilderAdvancesProducerSequenceAndResets) {
  RecordBatchBuilder builder(Compression::kNone, {7, 100});
  builder.Add(std::nullopt, "a", 1);
  builder.Add(std::nullopt, "b", 1);
  auto first = builder.Build();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(builder.record_count(), 0u);
  builder.Add(std::nullopt, "c", 1);
  auto second = builder.Build();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(RecordBatchView::Parse(*second)->producer().base_sequence, 102u);
}

TEST(RecordBatchTest, RecordCountMismatchFailsValidation) {
  // A header that claims more records than the payload holds, with a valid
  // checksum (as a malicious producer could send): only Validate() catches it.
  std::string bytes = BuildBatch(Compression::kNone, 3);
  bytes[batch_format::kRecordCountPos] = 4;
  const uint64_t sum = Checksum64(bytes.data() + batch_format::kChecksummedFrom,
                                  bytes.size() - batch_format::kChecksummedFrom);
  std::memcpy(bytes.data() + batch_format::kChecksumPos, &sum, sizeof(sum));
  auto view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok());
  const Status valid = view->Validate();
  EXPECT_EQ(valid.code(), ErrorCode::kDataCorruption) << valid.ToString();
}

// Regression: a tiny batch claiming a huge decompressed size made Validate()
// allocate that size before failing.
TEST(RecordBatchTest, CompressedPayloadClaimingAHugeSizeIsRejected) {
  for (const Compression c : {Compression::kZstd, Compression::kLz4}) {
    std::string bytes = BuildBatch(c, 2);
    const uint32_t huge = batch_format::kMaxBatchBytes;
    std::memcpy(bytes.data() + batch_format::kPayloadLengthPos, &huge, sizeof(huge));
    const uint64_t sum = Checksum64(bytes.data() + batch_format::kChecksummedFrom,
                                    bytes.size() - batch_format::kChecksummedFrom);
    std::memcpy(bytes.data() + batch_format::kChecksumPos, &sum, sizeof(sum));
    auto view = RecordBatchView::Parse(bytes);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->Validate().code(), ErrorCode::kDataCorruption) << CompressionName(c);
  }
}

}  // namespace
}  // namespace sprawl::storage
