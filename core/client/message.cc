#include "core/client/message.h"

#include "core/storage/record_batch.h"

namespace sprawl::client {

nlohmann::json MessageToJson(const Message& m) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : m.headers) headers[k] = v;
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

Result<std::vector<Message>> DecodeBatch(const std::string& topic, uint32_t partition,
                                         std::string_view batch, uint64_t from, uint64_t until) {
  SPRAWL_ASSIGN_OR_RETURN(auto view, storage::RecordBatchView::Parse(batch));
  SPRAWL_ASSIGN_OR_RETURN(auto records, view.Records());
  std::vector<Message> out;
  out.reserve(view.record_count());
  storage::RecordView record;
  while (records.Next(&record)) {
    if (record.offset < from || record.offset >= until) continue;
    Message m;
    m.topic = topic;
    m.partition = partition;
    m.offset = record.offset;
    m.timestamp_ms = record.timestamp_ms;
    if (record.key) m.key.emplace(*record.key);
    m.value.assign(record.value);
    for (const storage::HeaderView& h : record.Headers()) m.headers.emplace_back(h.name, h.value);
    out.push_back(std::move(m));
  }
  SPRAWL_RETURN_IF_ERROR(records.status());
  return out;
}

}  // namespace sprawl::client
