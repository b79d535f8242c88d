// `glassbox demo --serve`: the console on demo data (src/cli/demo_serve.cc), and what both demos use.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace glassbox::cli {

// Serves on `listen` (HOST:PORT) from `keep` (a folder kept after) or a temporary folder.
int run_demo_serve(const std::string& listen, const std::string& keep, const std::string& profile);

// A still from `video` at `at_s` seconds, written to `out` (the demos enrol people from their clips).
Status save_still(const std::filesystem::path& video, double at_s, const std::filesystem::path& out);

}  // namespace glassbox::cli
