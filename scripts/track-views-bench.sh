#!/usr/bin/env bash
# Several views per track on real video (docs/ACCURACY.md, "Several views per track"): a
# watchlist of 100 LFW people — Bob Menendez, the one talking-head speaker LFW has a photo of
# (taken years before the clip), and the first 99 other LFW folders in name order — is watched
# against the six talking-head clips, the walking video and the four far-pedestrian clips. For
# each setting of WATCH_ARGS (one per line of CONFIGS) it prints when Bob Menendez is first
# found in his clip, how many alerts he raises there, and every other alert (each a false one:
# nobody else in this footage is on the list), with the views embedded.
#   scripts/track-views-bench.sh
#   CONFIGS=$'--views-per-track 1\n--views-per-track 3' scripts/track-views-bench.sh
#   GLASSBOX_BIN=/path/to/older/glassbox CONFIGS="" scripts/track-views-bench.sh   # an older build's behaviour
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GLASSBOX_BUILD_DIR:-build}
bin=${GLASSBOX_BIN:-$build/src/glassbox}
data=${GLASSBOX_DATA:-../shared/data}
configs=${CONFIGS-$'--views-per-track 1\n--views-per-track 3\n--views-per-track 3 --target-fpir 0.01'}
[ "${GLASSBOX_BIN:-}" ] || cmake --build "$build" --target glassbox >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/list.db"

enrol() {  # subject photo: enrol and approve; silent when the photo is refused
  local id
  id=$("$bin" enroll --db "$db" --subject "$1" --legal-basis "benchmark" --source "LFW" --expires 2099-12-31 \
    --submitted-by bench-a "$2" 2>/dev/null) || return 1
  "$bin" approve --db "$db" --entry "$id" --approved-by bench-b >/dev/null 2>&1
}
enrol "Bob Menendez" "$data/lfw/images/Bob_Menendez/Bob_Menendez_0001.jpg" || { echo "Bob Menendez's photo was refused" >&2; exit 1; }
enrolled=1
for folder in $(ls "$data/lfw/images"); do
  [ $enrolled -ge 100 ] && break
  [ "$folder" = Bob_Menendez ] && continue
  enrol "$folder" "$data/lfw/images/$folder/${folder}_0001.jpg" && enrolled=$((enrolled + 1))
done
echo "watchlist: $enrolled LFW people (first photo each), Bob Menendez among them" >&2

sources=("$data"/video/talking_heads/*.mp4 "$data/video/walking/one-by-one-person-detection.mp4" "$data"/video/pedestrians_far/*.mp4)
menendez="$data/video/talking_heads/WDA_BobMenendez_000_h264.mp4"
while IFS= read -r config || [ -n "$config" ]; do
  read -r -a watch_args <<< "$config"
  "$bin" watch --db "$db" ${watch_args[@]+"${watch_args[@]}"} "${sources[@]}" > "$work/out.jsonl" 2> "$work/err.txt"
  threshold=$(sed -n 's/.*threshold in force: \(.*\)/\1/p' "$work/err.txt" | cut -c1-60)
  jq -rs --arg m "$menendez" --arg config "${config:-(defaults)}" --arg threshold "$threshold" '
    (map(select(.type == "alert"))) as $alerts
    | ($alerts | map(select(.source == $m and .subject == "Bob Menendez"))) as $found
    | ($alerts | map(select(.source != $m or .subject != "Bob Menendez"))) as $false
    | (map(select(.type == "source_summary"))) as $sources
    | "\($config): threshold \($threshold)\n"
      + "  Bob Menendez in his clip: \($found | length) alert(s)"
      + (if ($found | length) > 0 then ", first at \($found | map(.timestamp_s) | min) s (score \($found[0].score))" else "" end) + "\n"
      + "  false alerts: \($false | length)" + ($false | map("\n    \(.subject) in \(.source | split("/") | last) at \(.timestamp_s) s (score \(.score))") | join("")) + "\n"
      + "  views embedded: \($sources | map(.faces_embedded) | add // 0) in \($sources | map(.tracks) | add // 0) tracks; in the Menendez clip \($sources | map(select(.source == $m)) | .[0].faces_embedded // 0)"
  ' "$work/out.jsonl"
done <<< "$configs"
echo "machine: $(nproc) cores; command: CONFIGS=\"$configs\" GLASSBOX_BIN=$bin $0" >&2
