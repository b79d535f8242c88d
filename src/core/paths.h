// Where models, data and model profiles are found. Each is an environment variable with a
// default relative to the source tree, so a checkout with ../shared beside it works as is.
// Thread-safety: pure functions reading the environment.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace glassbox {

// GLASSBOX_MODELS, default <repo>/../shared/models.
std::filesystem::path models_dir();
// GLASSBOX_DATA, default <repo>/../shared/data.
std::filesystem::path data_dir();
// GLASSBOX_PROFILES, default <repo>/profiles (the shipped model profiles).
std::filesystem::path profiles_dir();

// Returns the path of a model file, or an error that says where it was looked for and how to get it.
Result<std::filesystem::path> find_model_file(const std::string& file_name);

}  // namespace glassbox
