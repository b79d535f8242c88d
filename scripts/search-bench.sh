#!/usr/bin/env bash
# Speed and recall of `glassbox search` on an hour of 1080p25 H.264 footage with known ground
# truth (docs/search.md, "Ground-truth footage"): a unit of UNIT_S seconds is made once (LFW faces
# over a real street clip, a keyframe every 2 s) and repeated REPEATS times without re-encoding.
# Each configuration MODE/PROBES is run RUNS times. PROBES photos of the target are given: the
# first, which the footage never shows, and its last ones, which a unit under about two hours
# never reaches either. The median wall time is reported with the recall of the target's
# appearances of two seconds or more and the false visits. Writes build/bench/search-bench.json.
#   scripts/search-bench.sh                       # 600 s x 6 = one hour
#   UNIT_S=120 REPEATS=2 RUNS=1 CONFIGS=keyframes/1 scripts/search-bench.sh   # a quick look
#   SEARCH_ARGS="--threshold 0.42" scripts/search-bench.sh   # extra options for glassbox search
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GLASSBOX_BUILD_DIR:-build}
unit_s=${UNIT_S:-600}
repeats=${REPEATS:-6}
runs=${RUNS:-3}
configs=${CONFIGS:-"keyframes/1 keyframes/3 rate:1/1"}
read -r -a search_args <<< "${SEARCH_ARGS:-}"
out="$build/bench"
mkdir -p "$out"
cmake --build "$build" --target glassbox search_footage >/dev/null
footage="$build/tests/search_footage"
unit="$out/search_unit_${unit_s}s.mp4"
long="$out/search_${unit_s}s_x${repeats}.mp4"
if [ ! -f "$unit" ]; then
  echo "making $unit_s s of ground-truth footage (about a third of real time on 2 cores)" >&2
  "$footage" make --seconds "$unit_s" --seed 11 --out "$unit" --truth "${unit%.mp4}.json"
fi
if [ ! -f "$long" ]; then
  "$footage" repeat --video "$unit" --truth "${unit%.mp4}.json" --times "$repeats" --out "$long" --truth-out "${long%.mp4}.json"
fi
probe=$(sed -n 's/.*"probe": "\(.*\)".*/\1/p' "${long%.mp4}.json" | head -1)
field() { sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p" "$2" | head -1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "{" > "$out/search-bench.json"
first=1
for config in $configs; do
  mode=${config%/*}
  probes=${config#*/}
  probe_args=(--probe "$probe")
  for extra in $(ls "$(dirname "$probe")" | tail -n $((probes - 1))); do
    [ "$probes" -gt 1 ] && probe_args+=(--probe "$(dirname "$probe")/$extra")
  done
  walls=()
  for run in $(seq "$runs"); do
    db=$(mktemp -d)/bench.db
    "$build/src/glassbox" search --db "$db" --case bench --legal-basis "benchmark" --requested-by bench-a --approved-by bench-b \
      "${probe_args[@]}" --mode "$mode" ${search_args[@]+"${search_args[@]}"} "$long" > "$out/search-result.json" 2>/dev/null
    "$footage" score --truth "${long%.mp4}.json" --result "$out/search-result.json" > "$out/search-score.json"
    walls+=("$(field wall_s "$out/search-score.json")")
    rm -rf "$(dirname "$db")"
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  footage_s=$(field footage_s "$out/search-score.json")
  recall=$(field recall "$out/search-score.json")
  found=$(field found "$out/search-score.json")
  appearances=$(field appearances "$out/search-score.json")
  false_visits=$(field false_visits "$out/search-score.json")
  rate=$(awk -v f="$footage_s" -v w="$wall" 'BEGIN {printf "%.2f", f / 3600 / (w / 60)}')
  printf '%-10s %s probe(s)  footage %6.0f s  median wall %6.1f s (runs: %s)  %s hours/min  recall %s (%s of %s)  false visits %s\n' \
    "$mode" "$probes" "$footage_s" "$wall" "${walls[*]}" "$rate" "$recall" "$found" "$appearances" "$false_visits"
  [ $first -eq 1 ] || echo "," >> "$out/search-bench.json"
  first=0
  printf '  "%s": {"probes": %s, "footage_s": %s, "median_wall_s": %s, "runs": %s, "footage_hours_per_minute": %s, "recall": %s, "appearances": %s, "false_visits": %s}' \
    "$config" "$probes" "$footage_s" "$wall" "$runs" "$rate" "$recall" "$appearances" "$false_visits" >> "$out/search-bench.json"
done
printf '\n}\n' >> "$out/search-bench.json"
echo "machine: $(nproc) cores, $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1); command: UNIT_S=$unit_s REPEATS=$repeats RUNS=$runs CONFIGS=\"$configs\" SEARCH_ARGS=\"${SEARCH_ARGS:-}\" $0" >&2
