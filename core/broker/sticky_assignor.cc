#include "core/broker/sticky_assignor.h"

#include <algorithm>
#include <set>

namespace sprawl::broker {

std::map<std::string, std::vector<uint32_t>> AssignSticky(
    const std::map<std::string, std::vector<uint32_t>>& current, uint32_t partitions) {
  std::map<std::string, std::vector<uint32_t>> out;
  if (current.empty()) return out;
  const size_t members = current.size();
  const size_t base = partitions / members;
  size_t extra = partitions % members;

  // Members that own the most now get the extra partitions, so fewer move.
  std::vector<std::string> order;
  for (const auto& [id, owned] : current) order.push_back(id);
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return current.at(a).size() > current.at(b).size();
  });
  std::map<std::string, size_t> quota;
  for (const std::string& id : order) quota[id] = base + (extra > 0 ? (--extra, 1) : 0);

  std::set<uint32_t> taken;
  for (const auto& [id, owned] : current) {
    std::vector<uint32_t> keep;
    std::vector<uint32_t> sorted = owned;
    std::sort(sorted.begin(), sorted.end());
    for (uint32_t p : sorted) {
      if (p < partitions && keep.size() < quota[id] && taken.insert(p).second) keep.push_back(p);
    }
    out[id] = std::move(keep);
  }
  uint32_t next = 0;
  for (const auto& [id, owned] : current) {
    auto& mine = out[id];
    while (mine.size() < quota[id]) {
      while (taken.count(next) > 0) ++next;
      taken.insert(next);
      mine.push_back(next);
    }
    std::sort(mine.begin(), mine.end());
  }
  return out;
}

}  // namespace sprawl::broker
