#!/usr/bin/env bash
# A long soak of `glassbox serve`, outside CI: CAMERAS looped 1080p cameras (real clips from
# GLASSBOX_DATA, scaled to 1080p), every one recording, a listed person on half of them so alerts
# keep coming (each loop of the clip is a new track: a new alert), while a monitor polls the API
# as a console would, confirms the alerts as a reviewer would, and samples, every SAMPLE seconds:
# resident memory, open descriptors, threads, disk use of the data folder, frames analysed and
# dropped, alerts, decisions, and the API's latency percentiles.
#
# Usage: scripts/soak.sh [--minutes 120] [--cameras 8] [--sample 30] [--out DIR]
# Output (DIR, default build/soak-YYYYmmddTHHMMSS): soak.csv (one row per sample), plots.txt
# (each series over time, as text), soak.svg (the same, drawn), summary.txt, serve.log.
# Exit status 0 when, after the first tenth (warm-up), memory and descriptors stayed flat, every
# camera kept streaming, analysis and alerts kept coming, and serve never died; 1 otherwise. How
# "flat" is judged: judge() in soak_monitor.py; `scripts/soak_monitor.py --cameras N --judge
# DIR/soak.csv` judges an earlier run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

minutes=120
cameras=8
sample=30
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --cameras) cameras=$2; shift 2 ;;
    --sample) sample=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
out=${out:-build/soak-$(date -u +%Y%m%dT%H%M%S)}
data=${GLASSBOX_DATA:-$root/../shared/data}
export GLASSBOX_MODELS=${GLASSBOX_MODELS:-$root/../shared/models}

command -v ffmpeg >/dev/null || scripts/install-deps.sh
if [ ! -x build/src/glassbox ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build --target glassbox
fi
glassbox=$root/build/src/glassbox

mkdir -p "$out/clips" "$out/data"
out=$(cd "$out" && pwd)
echo "soak: $cameras cameras, $minutes min, a sample every $sample s; output in $out"

# 1080p clips: the listed person (Person B) on the even cameras, people on no list on the odd ones.
clips=(WDA_KatieHill_000_h264 WDA_EdMarkey0_000_h264 RD_Radio2_000_h264 WDA_BobMenendez_000_h264)
for clip in "${clips[@]}"; do
  [ -f "$out/clips/$clip.mp4" ] && continue
  ffmpeg -loglevel error -y -i "$data/video/talking_heads/$clip.mp4" \
    -vf "scale=1920:1080:force_original_aspect_ratio=decrease,pad=1920:1080:(ow-iw)/2:(oh-ih)/2" \
    -c:v libx264 -preset veryfast -g 50 -an "$out/clips/$clip.mp4"
done

db=$out/data/glassbox.db
if [ ! -f "$db" ]; then
  ffmpeg -loglevel error -y -ss 1 -i "$data/video/talking_heads/WDA_KatieHill_000_h264.mp4" -frames:v 1 "$out/person_b.png"
  expires=$(date -u -d '+30 days' +%Y-%m-%d)
  entry=$("$glassbox" enroll --db "$db" --subject "Person B" --legal-basis "SOAK - no real case" --source "a still of the soak's clip" \
            --expires "$expires" --submitted-by olga "$out/person_b.png")
  "$glassbox" approve --db "$db" --entry "$entry" --approved-by sasha >/dev/null
  # The console's two views: alerts to review (an operator), metrics and cameras (an admin).
  printf 'soak monitor passphrase 1\n' | "$glassbox" user add --data-dir "$out/data" --name monitor --role admin >/dev/null
  printf 'soak reviewer passphrase 1\n' | "$glassbox" user add --data-dir "$out/data" --name reviewer --role operator >/dev/null
fi
reviewer_token=$("$glassbox" user token --data-dir "$out/data" --name reviewer --label soak --days 2 | tail -1)
admin_token=$("$glassbox" user token --data-dir "$out/data" --name monitor --label soak --days 2 | tail -1)

{
  printf '{"workers": 2, "realert_s": 0, "cameras": ['
  for ((i = 0; i < cameras; i++)); do
    clip=${clips[$(( (i % 2 == 0) ? 0 : 1 + (i / 2) % 3 ))]}
    [ "$i" -gt 0 ] && printf ', '
    printf '{"name": "cam%d", "url": "%s", "loop": true, "rate": 5, "record": true, "record_retention_days": 1}' "$i" "$out/clips/$clip.mp4"
  done
  printf ']}\n'
} > "$out/config.json"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$glassbox" serve --data-dir "$out/data" --listen "127.0.0.1:$port" --config "$out/config.json" > "$out/serve.log" 2>&1 &
serve_pid=$!
trap 'kill -TERM $serve_pid 2>/dev/null || true; wait $serve_pid 2>/dev/null || true' EXIT

status=0
python3 scripts/soak_monitor.py --pid "$serve_pid" --port "$port" --reviewer-token "$reviewer_token" --admin-token "$admin_token" --data-dir "$out/data" \
  --minutes "$minutes" --sample "$sample" --cameras "$cameras" --out "$out" || status=$?
echo "reproduce: scripts/soak.sh --minutes $minutes --cameras $cameras --sample $sample"
exit $status
