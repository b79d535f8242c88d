#!/usr/bin/env bash
# Installs what is missing, builds, and runs `glassbox demo` on the shared data.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build_dir=${GLASSBOX_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)" --target glassbox
exec "$build_dir/src/glassbox" demo "$@"
