#!/usr/bin/env bash
# Load measurement for `glassbox serve`: N cameras, each a 1080p 25 fps H.264 clip played in real
# time (looped) and analysed at RATE frames per second, for SECONDS after a 15 s warm-up.
# Prints, per camera and in total: frames decoded and analysed per second, frames dropped, and
# the service's resident memory (total, and per camera above a no-camera baseline).
#   scripts/serve-load.sh [CAMERAS=4] [SECONDS=60] [RATE=5] [WORKERS=2] [DETECT_SIZE=640]
#   GLASSBOX_BIN=/path/to/other/glassbox scripts/serve-load.sh ...   # another build, for a before/after
#   GLASSBOX_PG=1 scripts/serve-load.sh ...   # the service on a throwaway PostgreSQL (docs/cluster.md), not its SQLite file
# The clip is made once with FFmpeg from ../shared/data/video/walking (upscaled to 1920x1080,
# 25 fps, camera-like: x264 veryfast at 4 Mbit/s, a keyframe every 2 s, no B-frames) into
# build/bench/, as `glassbox bench` makes it. This is the whole service over HTTP, a cross-check
# of the bench's in-process camera trials (docs/PERFORMANCE.md).
set -euo pipefail
cameras=${1:-4}; seconds=${2:-60}; rate=${3:-5}; workers=${4:-2}; detect_size=${5:-640}
# Set only when asked for, so GLASSBOX_BIN can point at a build from before the setting existed.
detect_setting=""
[ -n "${5:-}" ] && detect_setting="\"detect_size\": $detect_size, "
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${GLASSBOX_BIN:-$root/build/src/glassbox}
data=${GLASSBOX_DATA:-$root/../shared/data}
bench=$root/build/bench
mkdir -p "$bench"
clip=$bench/walking_1080p25_60s.mp4
if [ ! -s "$clip" ]; then
  echo "making $clip" >&2
  ffmpeg -loglevel error -y -i "$data/video/walking/one-by-one-person-detection.mp4" -t 60 \
    -vf "scale=1920:1080:flags=bicubic,fps=25" -c:v libx264 -preset veryfast -b:v 4M -maxrate 4M -bufsize 8M -g 50 -bf 0 \
    -pix_fmt yuv420p -an "$clip"
fi
work=$(mktemp -d)
pgdir=""
as_postgres=""
pgbin=""
cleanup() {
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  if [ -n "$pgdir" ]; then $as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; fi
  rm -rf "$work"
}
pid=""
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))

# GLASSBOX_PG=1: a PostgreSQL server of its own (defaults: fsync on, as in production), on a Unix
# socket only; the node's keys stay in the data folder.
db_args=()
if [ -n "${GLASSBOX_PG:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdir=$(mktemp -d /tmp/glassbox-load-pg-XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_postgres="runuser -u postgres --"; fi
  $as_postgres "$pgbin/initdb" -D "$pgdir/data" -U glassbox -A trust -E UTF8 --locale=C >/dev/null
  $as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -o "-c listen_addresses='' -c unix_socket_directories='$pgdir'" start >/dev/null
  db_args=(--db "host=$pgdir user=glassbox dbname=postgres")
fi

# /metrics needs an account: an admin and its API token, made in the service's data folder.
mkdir -p "$work/data"
echo "a long benchmark password" | "$bin" user add --data-dir "$work/data" "${db_args[@]}" --name bench --role admin >/dev/null
token=$("$bin" user token --data-dir "$work/data" "${db_args[@]}" --name bench --label load)

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
start_serve() {  # config file
  "$bin" serve --data-dir "$work/data" "${db_args[@]}" --listen "127.0.0.1:$port" --config "$1" 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0; sleep 0.1; done
  echo "serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1
}

# Baseline: the service with its workers and models, no camera.
echo "{\"workers\": $workers, $detect_setting\"cameras\": []}" >"$work/empty.json"
start_serve "$work/empty.json"; sleep 3
baseline=$(rss_kib $pid)
kill -TERM $pid; wait $pid || true

list=""
for i in $(seq 1 "$cameras"); do
  list+="${list:+,}{\"name\": \"cam$i\", \"url\": \"$clip\", \"loop\": true, \"rate\": $rate}"
done
echo "{\"workers\": $workers, $detect_setting\"queue_frames\": 8, \"cameras\": [$list]}" >"$work/config.json"
start_serve "$work/config.json"
sleep 15
metric() { curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 ~ "^"m"\\{" {split($1, a, "\""); print a[2], $2}' | sort; }
metric glassbox_frames_decoded_total >"$work/dec0"; metric glassbox_frames_analysed_total >"$work/ana0"; metric glassbox_frames_dropped_total >"$work/drop0"
sleep "$seconds"
metric glassbox_frames_decoded_total >"$work/dec1"; metric glassbox_frames_analysed_total >"$work/ana1"; metric glassbox_frames_dropped_total >"$work/drop1"
rss=$(rss_kib $pid)
p99=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | awk '/glassbox_stage_latency_seconds_(sum|count)\{stage="total"\}/ {v[$1]=$2} END {for (k in v) if (k ~ /sum/) s=v[k]; else c=v[k]; if (c > 0) printf "%.3f", s / c}')
echo "cameras=$cameras rate=$rate workers=$workers detect_size=$detect_size window=${seconds}s clip=1920x1080@25 H.264 4 Mbit/s database=$([ -n "${GLASSBOX_PG:-}" ] && echo postgresql || echo sqlite)"
join "$work/dec0" "$work/dec1" | join - <(join "$work/ana0" "$work/ana1") | join - <(join "$work/drop0" "$work/drop1") |
  awk -v s="$seconds" '{d=($3-$2)/s; a=($5-$4)/s; x=$7-$6; td+=d; ta+=a; tx+=x;
       printf "  %-6s decoded %6.2f fps  analysed %5.2f fps  dropped %d\n", $1, d, a, x}
       END {printf "  total  decoded %6.2f fps  analysed %5.2f fps  dropped %d\n", td, ta, tx}'
echo "  mean capture-to-analysed latency ${p99} s"
echo "  memory: ${rss} KiB resident; baseline without cameras ${baseline} KiB; per camera $(( (rss - baseline) / cameras )) KiB"
