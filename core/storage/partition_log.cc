#include "core/storage/partition_log.h"

#include <future>

namespace sprawl::storage {

Result<AppendInfo> PartitionLog::Append(std::string batch, uint64_t term) {
  std::promise<Result<AppendInfo>> promise;
  auto future = promise.get_future();
  AppendAsync(std::move(batch), term,
              [&promise](Result<AppendInfo> result) { promise.set_value(std::move(result)); });
  return future.get();
}

}  // namespace sprawl::storage
