#include "store/database.h"

namespace glassbox {

Status run(Statement& statement) {
  auto step = statement.step();
  if (!step) return step.error();
  return ok_status();
}

Result<bool> next_row(Statement& statement, const std::string& what) {
  auto step = statement.step();
  if (!step) return step.error().within(what);
  return *step == Step::kRow;
}

Result<std::int64_t> query_int64(Database& db, const std::string& sql, const std::string& what) {
  auto statement = db.prepare(sql);
  auto row = next_row(*statement, what);
  if (!row) return row.error();
  if (!*row) return Error{what + ": " + db.describe() + " returned no row"};
  return statement->int64(0);
}

Result<int> count_rows(Statement& statement, const std::string& what) {
  int rows = 0;
  if (auto s = for_each_row(statement, what, [&] { ++rows; return ok_status(); }); !s) return s.error();
  return rows;
}

}  // namespace glassbox
