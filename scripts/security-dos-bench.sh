#!/usr/bin/env bash
# What the review's denial-of-service attacks (../shared/reviews/security-serve.md, C-01, C-02,
# C-03, C-18) cost `glassbox serve`: peak resident memory above its baseline, peak threads, the
# slowest /health and signed-in request during each attack, and what the attacker was told
# (docs/security.md, "Measured"). The attacks are bounded (64 MiB, 1 GiB inflated, 256 MiB...)
# so an unprotected build does not take the machine down. One run each: the figures are peaks.
#   scripts/security-dos-bench.sh                                   # this build
#   GLASSBOX_BIN=/path/to/older/glassbox scripts/security-dos-bench.sh   # another build, for before/after
# Writes build/bench/security-dos.json (or .../security-dos-NAME.json with OUT_NAME=NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GLASSBOX_BUILD_DIR:-build}
bin=${GLASSBOX_BIN:-$build/src/glassbox}
cmake --build "$build" --target glassbox dos_probe >/dev/null
mkdir -p "$build/bench"
out="$build/bench/security-dos${OUT_NAME:+-$OUT_NAME}.json"
data=$(mktemp -d)
serve_pid=
cleanup() { [ -n "$serve_pid" ] && kill -9 "$serve_pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
echo "a long test password for root" | "$bin" user add --data-dir "$data/d" --name root --role admin 2>/dev/null
echo "a long test password for olga" | "$bin" user add --data-dir "$data/d" --name olga --role operator 2>/dev/null
token=$("$bin" user token --data-dir "$data/d" --name olga 2>/dev/null)
echo '{"workers": 1}' > "$data/config.json"
"$bin" serve --data-dir "$data/d" --listen 127.0.0.1:0 --config "$data/config.json" > "$data/serve.out" 2> "$data/serve.err" &
serve_pid=$!
for _ in $(seq 600); do grep -q "listening on" "$data/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\) with.*/\1/p' "$data/serve.out")
[ -n "$port" ] || { echo "serve did not start: $(cat "$data/serve.err")" >&2; exit 1; }
echo "attacking $bin on port $port (pid $serve_pid)" >&2
"$build/tests/dos_probe" --port "$port" --pid "$serve_pid" --token "$token" ${ONLY:+--only "$ONLY"} > "$out"
echo "command: ${GLASSBOX_BIN:+GLASSBOX_BIN=$GLASSBOX_BIN }${ONLY:+ONLY=$ONLY }scripts/security-dos-bench.sh" >&2
cat "$out"
