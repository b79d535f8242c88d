#!/usr/bin/env bash
# Long fuzzing campaigns, outside CI: every libFuzzer target of fuzz/ (or those named), each for
# SECONDS (default 3600), with AddressSanitizer and UndefinedBehaviorSanitizer, from the corpora
# the test suite replays. Installs clang (with libFuzzer) when it is missing.
#
# Usage: scripts/fuzz-campaign.sh [--seconds N] [--parallel N] [target...]
#   targets: input http audit recording stream api  (default: all)
#   --parallel: targets fuzzed at once (default: all of them, sharing the cores, so that the
#   campaign takes SECONDS; each is one process).
#
# Build: build-fuzz/ (clang, -DGLASSBOX_FUZZ=ON). Per target, under build-fuzz/campaign/TARGET/:
# corpus/ (the seeds, then what the fuzzer found), artifacts/ (crash, leak and timeout inputs),
# log. The summary (executions, coverage, corpus size, findings) is printed at the end and kept in
# build-fuzz/campaign/summary.txt. A finding is fixed in the code and its input added to the
# target's corpus in fuzz/ (or, for videos, noted), so every later test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=3600
parallel=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(input http audit recording stream api)
parallel=${parallel:-${#targets[@]}}

data=${GLASSBOX_DATA:-$root/../shared/data}
export GLASSBOX_MODELS=${GLASSBOX_MODELS:-$root/../shared/models}
export GLASSBOX_DATA=$data

# The seeds of each target: the folders its replay test reads.
seeds_of() {
  case "$1" in
    input) echo "fuzz/corpus" ;;
    http) echo "fuzz/corpus_http" ;;
    audit) echo "fuzz/corpus_audit" ;;
    api) echo "fuzz/corpus_api" ;;
    recording|stream) echo "$data/robustness/video $data/robustness/minimal" ;;
    *) echo "unknown target: $1" >&2; exit 2 ;;
  esac
}
# Inputs larger than this are not tried (videos need room; requests and texts do not).
max_len_of() {
  case "$1" in
    recording|stream) echo 262144 ;;
    api) echo 65536 ;;
    *) echo 16384 ;;
  esac
}

# clang with libFuzzer (Debian's clang ships it): only here, not in the test machine's set-up.
if ! command -v clang++ >/dev/null; then
  scripts/install-deps.sh
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang
fi
build="build-fuzz"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DGLASSBOX_FUZZ=ON -DGLASSBOX_BUILD_TESTS=OFF -DGLASSBOX_CONSOLE=OFF >/dev/null
fuzzers=()
for target in "${targets[@]}"; do fuzzers+=("${target}_fuzzer"); done
cmake --build "$build" --parallel "$(nproc)" --target "${fuzzers[@]}"

campaign=$build/campaign
mkdir -p "$campaign"
# halt on the first report; leaks are reported at the end of each input's run (libFuzzer -detect_leaks).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

run_one() {
  local target=$1 dir=$campaign/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  echo "== $target: $seconds s (log: $dir/log)"
  # -fork would survive a crash and go on; one process and halt_on_error instead: the first
  # finding stops the target, and is there in artifacts/ to fix.
  local seeds
  read -r -a seeds <<<"$(seeds_of "$target")"
  "$build/fuzz/${target}_fuzzer" "$dir/corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -max_len="$(max_len_of "$target")" -timeout=60 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1 || true
}

running=0
for target in "${targets[@]}"; do
  run_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

{
  printf '%-10s %12s %10s %10s %8s %s\n' target executions coverage features corpus findings
  for target in "${targets[@]}"; do
    log=$campaign/$target/log
    # A target stopped by a finding has no final stats: its last progress line says how far.
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    [ -z "$execs" ] && execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | awk '{print $2}' || true)
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | awk '{print $2}' || true)
    corpus=$(find "$campaign/$target/corpus" -type f | wc -l)
    findings=$(find "$campaign/$target/artifacts" -type f | wc -l)
    printf '%-10s %12s %10s %10s %8s %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$findings"
  done
  echo "($seconds s per target, $parallel at a time, on $(nproc) cores; reproduce: scripts/fuzz-campaign.sh --seconds $seconds --parallel $parallel ${targets[*]})"
} | tee "$campaign/summary.txt"
# A finding fails the campaign, so that it cannot pass unnoticed.
! find "$campaign" -path '*/artifacts/*' -type f | grep -q .
