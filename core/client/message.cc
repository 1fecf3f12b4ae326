#include "core/client/message.h"

namespace sprawl::client {

namespace {

// What the messages decoded from one batch share.
struct DecodedBatch {
  std::string topic;
  std::string batch;
  // Owns the decompressed payload of a compressed batch, which the views then
  // point into.
  std::optional<storage::RecordIterator> records;
};

}  // namespace

nlohmann::json MessageToJson(const Message& m) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : m.headers) headers[std::string(k)] = v;
  nlohmann::json out = {{"topic", m.topic},
                        {"partition", m.partition},
                        {"offset", m.offset},
                        {"timestamp_ms", m.timestamp_ms},
                        {"value", m.value},
                        {"headers", headers},
                        {"delivery_count", m.delivery_count}};
  out["key"] = m.key ? nlohmann::json(*m.key) : nlohmann::json(nullptr);
  return out;
}

Message MessageFromRecord(const std::shared_ptr<const void>& owner, std::string_view topic,
                          uint32_t partition, const storage::RecordView& record) {
  Message m;
  m.topic = topic;
  m.partition = partition;
  m.offset = record.offset;
  m.timestamp_ms = record.timestamp_ms;
  m.key = record.key;
  m.value = record.value;
  if (record.header_count > 0) {
    for (const storage::HeaderView& h : record.Headers()) m.headers.emplace_back(h.name, h.value);
  }
  m.bytes = owner;
  return m;
}

Result<std::vector<Message>> DecodeBatch(const std::string& topic, uint32_t partition,
                                         std::string_view batch, uint64_t from, uint64_t until) {
  auto owner = std::make_shared<DecodedBatch>();
  owner->topic = topic;
  owner->batch.assign(batch);
  SPRAWL_ASSIGN_OR_RETURN(auto view, storage::RecordBatchView::Parse(owner->batch));
  SPRAWL_ASSIGN_OR_RETURN(auto iterator, view.Records());
  storage::RecordIterator& records = owner->records.emplace(std::move(iterator));
  const std::shared_ptr<const void> shared = owner;
  std::vector<Message> out;
  out.reserve(view.record_count());
  storage::RecordView record;
  while (records.Next(&record)) {
    if (record.offset < from || record.offset >= until) continue;
    out.push_back(MessageFromRecord(shared, owner->topic, partition, record));
  }
  SPRAWL_RETURN_IF_ERROR(records.status());
  return out;
}

}  // namespace sprawl::client
