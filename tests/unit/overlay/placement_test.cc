#include "core/overlay/placement.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace sprawl::overlay {
namespace {

std::vector<PlacementNode> Nodes(int n, int racks = 1, int first = 0) {
  std::vector<PlacementNode> out;
  for (int i = first; i < first + n; ++i) {
    out.push_back(
        {"node-" + std::to_string(i), racks > 1 ? "rack-" + std::to_string(i % racks) : ""});
  }
  return out;
}

TEST(PlacementTest, EveryNodeComputesTheSameOrderedReplicaSet) {
  auto nodes = Nodes(7);
  Placement a(nodes);
  std::reverse(nodes.begin(), nodes.end());
  Placement b(nodes);  // the same view listed in another order
  for (uint32_t p = 0; p < 64; ++p) {
    const auto& set = a.ReplicaSet("orders", p, 3);
    EXPECT_EQ(set, b.ReplicaSet("orders", p, 3));
    EXPECT_EQ(std::set<std::string>(set.begin(), set.end()).size(), 3u) << "distinct replicas";
  }
  EXPECT_EQ(a.ReplicaSet("orders", 0, 10).size(), 7u) << "at most every node";
}

TEST(PlacementTest, ReplicasSpreadAcrossRacks) {
  Placement p(Nodes(9, 3));
  for (uint32_t part = 0; part < 100; ++part) {
    std::set<std::string> racks;
    for (const std::string& id : p.ReplicaSet("t", part, 3)) {
      racks.insert("rack-" + std::to_string(std::stoi(id.substr(5)) % 3));
    }
    EXPECT_EQ(racks.size(), 3u) << "partition " << part;
  }
}

// Over many random clusters, the replica slots that move when one node joins
// (or leaves) an N-node cluster are close to the ideal 1/(N+1) (or 1/N).
TEST(PlacementTest, OneNodeJoiningOrLeavingMovesAboutOneNth) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 3 + static_cast<int>(rng() % 30);
    const size_t rf = 1 + rng() % 3;
    auto nodes = Nodes(n, 1, static_cast<int>(rng() % 1000));
    Placement before(nodes);
    auto grown = nodes;
    grown.push_back({"joiner-" + std::to_string(trial), ""});
    Placement after(grown);
    const std::vector<std::pair<std::string, uint32_t>> topics = {{"a", 500}, {"b", 500}};
    size_t moved = 0;
    for (const Move& m : PlanMoves(before, after, topics, rf)) moved += m.gained.size();
    const double fraction = static_cast<double>(moved) / (1000.0 * static_cast<double>(rf));
    const double ideal = 1.0 / (n + 1);
    // Binomial noise over 1000*rf slots: within 35% of the ideal, or 0.02.
    EXPECT_NEAR(fraction, ideal, std::max(0.35 * ideal, 0.02))
        << "n=" << n << " rf=" << rf << " trial " << trial;
    // Leaving is the same computation backwards.
    size_t back = 0;
    for (const Move& m : PlanMoves(after, before, topics, rf)) back += m.lost.size();
    EXPECT_EQ(back, moved);
  }
}

TEST(PlacementTest, LoadIsEven) {
  Placement p(Nodes(10));
  Balance b = MeasureBalance(p, {{"t", 1000}}, 3);
  EXPECT_EQ(b.replicas.size(), 10u);
  EXPECT_LT(b.imbalance, 1.25);
}

}  // namespace
}  // namespace sprawl::overlay
