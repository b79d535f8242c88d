#!/usr/bin/env bash
# The whole C++ test suite under sanitizers, each in a build of its own beside the normal one:
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): build-address/
#   thread   ThreadSanitizer: build-thread/
# Usage: scripts/run-sanitizers.sh [address|thread|all] [ctest arguments...]   (default: all)
# A finding ends the process that met it, and so fails its test; every report is written to
# BUILD/sanitizer-reports/ (one file per process) and printed at the end, and any report fails
# the run. Known reports from code that is not ours are suppressed, each with its reason, in
# scripts/sanitizers/. The console's
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
  # log_path: every process's reports are also kept as files, so that one from a process whose
  # end a test does not check (a serve it kills) is not lost with its standard error.
  reports=$root/$dir/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1:verify_asan_link_order=0:log_path=$reports/asan"
  export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/scripts/sanitizers/ubsan.supp:log_path=$reports/ubsan"
  # ignore_noninstrumented_modules: what a library we did not build (OpenCV, FFmpeg, TBB, GDAL)
  # reads and writes through an intercepted call (memcpy, free) is not tracked, while its mutexes
  # still order our threads. Without it every frame's memcpy inside OpenCV is checked byte range
  # by byte range (the suite would take hours) and the libraries' own atomics, which ThreadSanitizer
  # cannot see, make their internal hand-overs look like races. Races between our own accesses
  # are all still found; one between our code and a library's access to the same memory is not.
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$root/scripts/sanitizers/tsan.supp:log_path=$reports/tsan"
  echo "== $kind: running the tests"
  started=$(date +%s)
  if ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" "$@"; then
    echo "== $kind: tests passed in $(( $(date +%s) - started )) s"
  else
    echo "== $kind: tests FAILED (after $(( $(date +%s) - started )) s)"
    status=1
  fi
  if [ -n "$(ls -A "$reports")" ]; then
    echo "== $kind: reports, one file per process that made one ($reports):"
    for report in "$reports"/*; do
      echo "-- $report"
      cat "$report"
    done
    status=1
  else
    echo "== $kind: no process made a report"
  fi
done
exit $status
