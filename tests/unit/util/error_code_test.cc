#include "core/util/error_code.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/util/result.h"

namespace sprawl {
namespace {

struct Row {
  int number;
  std::string name;
  bool retriable;
};

std::vector<Row> CodeTable() {
  return {
#define SPRAWL_X(name, number, text, retriable, meaning) {number, text, retriable},
      SPRAWL_ERROR_CODES(SPRAWL_X)
#undef SPRAWL_X
  };
}

TEST(ErrorCodeTest, DocsTableMatchesTheCode) {
  std::ifstream in(std::string(SPRAWL_SOURCE_DIR) + "/docs/errors.md");
  ASSERT_TRUE(in) << "docs/errors.md is missing";
  // Rows look like: | 4 | `OFFSET_OUT_OF_RANGE` | no | meaning |
  std::vector<Row> documented;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    std::string cell;
    while (std::getline(cells_in, cell, '|')) {
      const size_t begin = cell.find_first_not_of(' ');
      const size_t end = cell.find_last_not_of(' ');
      cells.push_back(begin == std::string::npos ? "" : cell.substr(begin, end - begin + 1));
    }
    if (cells.size() < 5 || cells[1].empty() ||
        cells[1].find_first_not_of("0123456789") != std::string::npos) {
      continue;  // not a table row with a numeric code
    }
    const std::string& name = cells[2];
    ASSERT_TRUE(name.size() > 2 && name.front() == '`' && name.back() == '`') << line;
    ASSERT_TRUE(cells[3] == "yes" || cells[3] == "no") << line;
    documented.push_back({std::stoi(cells[1]), name.substr(1, name.size() - 2), cells[3] == "yes"});
  }
  const auto table = CodeTable();
  ASSERT_EQ(documented.size(), table.size()) << "docs/errors.md lists another set of codes";
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(documented[i].number, table[i].number);
    EXPECT_EQ(documented[i].name, table[i].name);
    EXPECT_EQ(documented[i].retriable, table[i].retriable) << table[i].name;
  }
}

TEST(ErrorCodeTest, NumbersAreUniqueAndNamesStable) {
  const auto table = CodeTable();
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].number, static_cast<int>(i)) << "codes are numbered densely from 0";
    EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(table[i].number)), table[i].name);
  }
}

TEST(StatusTest, CarriesCodeMessageAndRetriable) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.ToString(), "OK");
  Status io = IoError("disk full");
  EXPECT_FALSE(io.ok());
  EXPECT_TRUE(io.retriable());
  EXPECT_EQ(io.ToString(), "IO_ERROR: disk full");
  EXPECT_EQ(io.WithContext("append").ToString(), "IO_ERROR: append: disk full");
  EXPECT_FALSE(InvalidArgument("x").retriable());
  EXPECT_FALSE(Status(ErrorCode::kIoError, "permanent", false).retriable());
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  SPRAWL_ASSIGN_OR_RETURN(int half, Half(x));
  return Half(half);
}

TEST(ResultTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Quarter(7).status().message(), "odd");
}

}  // namespace
}  // namespace sprawl
