#!/usr/bin/env bash
# The whole C++ test suite under sanitizers, each in a build of its own beside the normal one:
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): build-address/
#   thread   ThreadSanitizer: build-thread/
# Usage: scripts/run-sanitizers.sh [address|thread|all] [ctest arguments...]   (default: all)
# A finding fails the test that met it (the report is in its output). Known reports from code
# that is not ours are suppressed, each with its reason, in scripts/sanitizers/. The console's
# tests (Node.js, Chromium) are not run here: nothing in them is C++. Results: docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

which=${1:-all}
[ $# -gt 0 ] && shift
case "$which" in
  address|thread) kinds=("$which") ;;
  all) kinds=(address thread) ;;
  *) echo "usage: $0 [address|thread|all] [ctest arguments...]" >&2; exit 2 ;;
esac

scripts/install-deps.sh

status=0
for kind in "${kinds[@]}"; do
  dir=${GLASSBOX_SANITIZE_BUILD_PREFIX:-build}-$kind
  echo "== $kind: building in $dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLASSBOX_SANITIZE="$kind" -DGLASSBOX_CONSOLE=OFF
  cmake --build "$dir" --parallel "$(nproc)"
  # halt_on_error: the first finding ends the process, so no test passes over one.
  # verify_asan_link_order=0: the clock test runs serve under libfaketime (LD_PRELOAD), which
  # would otherwise come before the ASan runtime and stop serve before it starts.
  export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1:verify_asan_link_order=0"
  export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/scripts/sanitizers/ubsan.supp"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/sanitizers/tsan.supp"
  echo "== $kind: running the tests"
  started=$(date +%s)
  if ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" "$@"; then
    echo "== $kind: passed in $(( $(date +%s) - started )) s"
  else
    echo "== $kind: FAILED (after $(( $(date +%s) - started )) s)"
    status=1
  fi
done
exit $status
