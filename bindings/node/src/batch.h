// A batch of received messages packed for the JavaScript half: one byte
// buffer with every key, value, header name and header value, and one table
// of numbers that says where each lies. The packing runs on a worker thread,
// so that the main thread turns a whole batch into JavaScript values with a
// handful of calls instead of several per message; JavaScript reads fields
// from the table and slices key, value and headers only when they are used.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "sprawl/sprawl.hpp"

namespace sprawl_addon {

// The numbers of one message in Batch::table, kFields per message, in this
// order (index.js reads the same layout). A missing key has start -1.
enum BatchField : int {
  kPartition,
  kOffset,
  kTimestampMs,
  kDeliveryCount,
  kKeyStart,
  kKeyEnd,
  kValueStart,
  kValueEnd,
  kHeaderFirst,  // index of its first header in Batch::header_table
  kHeaderCount,
  kFields
};

// Per header in Batch::header_table: name start, name end, value start, value end.
constexpr int kHeaderFields = 4;

struct Batch {
  // The native messages, kept for ack and nack until all are settled or the
  // batch is collected.
  std::vector<sprawl::Message> messages;
  size_t settled = 0;    // messages acked or nacked so far
  int64_t external = 0;  // bytes V8 is told this batch holds outside its heap
  std::vector<char> bytes;
  std::vector<double> table;
  std::vector<double> header_table;
  std::string topic;

  // Appends `m` (moved in) to the batch. Worker thread.
  void Add(sprawl::Message m) {
    if (messages.empty()) topic = std::string(m.topic());
    const size_t base = table.size();
    table.resize(base + kFields);
    double* t = &table[base];
    t[kPartition] = m.partition();
    // Offsets and timestamps fit a double's 53 bits of integer precision.
    t[kOffset] = static_cast<double>(m.offset());
    t[kTimestampMs] = static_cast<double>(m.timestamp_ms());
    t[kDeliveryCount] = m.delivery_count();
    if (auto key = m.key()) {
      t[kKeyStart] = static_cast<double>(bytes.size());
      Append(*key);
      t[kKeyEnd] = static_cast<double>(bytes.size());
    } else {
      t[kKeyStart] = -1;
      t[kKeyEnd] = -1;
    }
    t[kValueStart] = static_cast<double>(bytes.size());
    Append(m.value());
    t[kValueEnd] = static_cast<double>(bytes.size());
    const size_t headers = sprawl_message_header_count(m.get());
    t[kHeaderFirst] = static_cast<double>(header_table.size() / kHeaderFields);
    t[kHeaderCount] = static_cast<double>(headers);
    for (size_t i = 0; i < headers; ++i) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t len = 0;
      sprawl_message_header(m.get(), i, &name, &value, &len);
      header_table.push_back(static_cast<double>(bytes.size()));
      Append(name);
      header_table.push_back(static_cast<double>(bytes.size()));
      header_table.push_back(static_cast<double>(bytes.size()));
      Append(std::string_view(static_cast<const char*>(value), len));
      header_table.push_back(static_cast<double>(bytes.size()));
    }
    messages.push_back(std::move(m));
  }

  size_t size() const { return messages.size(); }

 private:
  void Append(std::string_view s) { bytes.insert(bytes.end(), s.begin(), s.end()); }
};

}  // namespace sprawl_addon
