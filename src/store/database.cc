#include "store/database.h"

namespace glassbox {

Status run(Statement& statement) {
  auto step = statement.step();
  if (!step) return step.error();
  return ok_status();
}

}  // namespace glassbox
