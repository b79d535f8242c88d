#include "core/paths.h"

#include <cstdlib>

namespace glassbox {
namespace {

std::filesystem::path from_env_or(const char* variable, const std::filesystem::path& fallback) {
  const char* value = std::getenv(variable);
  if (value != nullptr && value[0] != '\0') return std::filesystem::path(value);
  return fallback.lexically_normal();
}

}  // namespace

std::filesystem::path models_dir() {
  return from_env_or("GLASSBOX_MODELS", std::filesystem::path(GLASSBOX_SOURCE_DIR) / ".." / "shared" / "models");
}

std::filesystem::path data_dir() {
  return from_env_or("GLASSBOX_DATA", std::filesystem::path(GLASSBOX_SOURCE_DIR) / ".." / "shared" / "data");
}

std::filesystem::path profiles_dir() {
  return from_env_or("GLASSBOX_PROFILES", std::filesystem::path(GLASSBOX_SOURCE_DIR) / "profiles");
}

Result<std::filesystem::path> find_model_file(const std::string& file_name) {
  const std::filesystem::path dir = models_dir();
  std::filesystem::path candidate = dir / file_name;
  std::error_code ec;
  if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  return Error{"model file '" + file_name + "' not found in " + dir.string() +
               " (set GLASSBOX_MODELS to the folder that holds it; with internet access, "
               "scripts/download-models.sh fetches the public models into a folder you name)"};
}

}  // namespace glassbox
