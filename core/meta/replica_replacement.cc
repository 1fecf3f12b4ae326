#include "core/meta/replica_replacement.h"

#include <algorithm>

namespace sprawl::meta {

std::optional<std::vector<std::vector<std::string>>> ReplaceGoneReplicas(
    const MetaTopic& topic, const std::set<std::string, std::less<>>& gone,
    const std::function<std::vector<std::string>(uint32_t partition)>& ranked) {
  if (topic.config.replication_factor <= 1 || topic.assignment.empty() || gone.empty()) {
    return std::nullopt;
  }
  std::vector<std::vector<std::string>> out = topic.assignment;
  bool changed = false;
  for (uint32_t p = 0; p < out.size(); ++p) {
    std::vector<std::string>& replicas = out[p];
    const bool hit = std::any_of(replicas.begin(), replicas.end(),
                                 [&](const std::string& id) { return gone.count(id) > 0; });
    if (!hit) continue;
    const std::vector<std::string> candidates = ranked(p);
    auto next = candidates.begin();
    for (std::string& id : replicas) {
      if (gone.count(id) == 0) continue;
      next = std::find_if(next, candidates.end(), [&](const std::string& c) {
        return gone.count(c) == 0 &&
               std::find(replicas.begin(), replicas.end(), c) == replicas.end();
      });
      if (next == candidates.end()) break;  // too few live members: it waits
      id = *next;
      changed = true;
    }
  }
  if (!changed) return std::nullopt;
  return out;
}

}  // namespace sprawl::meta
