#!/usr/bin/env bash
# The cluster's coordination load (docs/cluster.md, "Growth and capacity"): `glassbox cluster
# simulate` against a PostgreSQL server of its own (Debian's postgresql-15, defaults but for
# max_connections, fsync on), at each camera count given, NODES simulated nodes each.
#   scripts/cluster-simulate.sh [SECONDS=60] [NODES=40] [CAMERAS...=1000 10000]
set -euo pipefail
seconds=${1:-60}; nodes=${2:-40}; shift $(( $# > 2 ? 2 : $# )) || true
counts=("$@"); [ ${#counts[@]} -eq 0 ] && counts=(1000 10000)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${GLASSBOX_BIN:-$root/build/src/glassbox}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/glassbox-sim-pg-XXXXXX)
as_postgres=""
if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_postgres="runuser -u postgres --"; fi
trap '$as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
$as_postgres "$pgbin/initdb" -D "$pgdir/data" -U glassbox -A trust -E UTF8 --locale=C >/dev/null
$as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$pgdir' -c max_connections=250" start >/dev/null
for cameras in "${counts[@]}"; do
  db="sim$cameras"
  $as_postgres "$pgbin/createdb" -h "$pgdir" -U glassbox "$db"
  echo "== $bin cluster simulate --db 'host=$pgdir user=glassbox dbname=$db' --nodes $nodes --cameras $cameras --seconds $seconds --json"
  "$bin" cluster simulate --db "host=$pgdir user=glassbox dbname=$db" --nodes "$nodes" --cameras "$cameras" --seconds "$seconds" --json
done
