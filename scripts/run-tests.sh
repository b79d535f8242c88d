#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, end-to-end on the
# shared data, CLI contract, robustness corpus). The README's test command and .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build_dir=${GLASSBOX_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" --parallel "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure --parallel "$(nproc)" "$@"
