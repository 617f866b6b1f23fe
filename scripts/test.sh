#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit and integration tests, and
# the browser SDK's type check and unit tests, aiortc (a second WebRTC stack,
# from PyPI) and WHIP encoders (GStreamer, FFmpeg) against the server, and browser end-to-end tests in Debian's
# Chromium. Installs what a fresh machine lacks (Chromium, the e2e and
# SDK npm packages) first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }

# A one-shot build keeps no incremental state: it would only take disk (GBs).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Disk is what a fresh build runs out of first; say how much there is.
df -h . | tail -1

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian chromium"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y chromium
fi
if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
  step "installing iproute2 (ip netns and tc, for e2e/tests/simulcast-netem)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y iproute2
fi
# promtool (Debian's prometheus package) lints the /metrics exposition in
# e2e/aiortc/test_metrics.py.
if ! command -v promtool >/dev/null; then
  step "installing prometheus (promtool)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y prometheus
fi
# coturn's turnutils_uclient and turnutils_peer are the third-party TURN client
# and peer of crates/server/tests/turn.rs.
if ! command -v turnutils_uclient >/dev/null; then
  step "installing coturn (turnutils_uclient)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y coturn
fi
# Debian's FFmpeg (ffmpeg, ffprobe, with libx264) makes H.264 for
# crates/record's tests and reads every recording the tests make.
if ! command -v ffprobe >/dev/null; then
  step "installing ffmpeg (ffprobe)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y ffmpeg
fi
# libopus (headers and the library) for crates/ingest's Opus encoder: RTMP
# ingest transcodes AAC to Opus.
if ! dpkg -s libopus-dev >/dev/null 2>&1; then
  step "installing libopus-dev"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y libopus-dev
fi
# Redis for cluster mode: crates/store's Redis tests and the cluster browser
# tests start their own redis-server on a free loopback port.
if ! command -v redis-server >/dev/null; then
  step "installing redis-server"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y redis-server
fi
# GStreamer's webrtcbin, driven from the system python3 through gi, is one of the
# WHIP encoders of e2e/aiortc/test_whip_encoders.py.
GST_PKGS=(python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-nice)
if ! dpkg -s "${GST_PKGS[@]}" >/dev/null 2>&1; then
  step "installing GStreamer (webrtcbin) and python3-gi"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "${GST_PKGS[@]}"
fi
if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules ]; then
  step "npm ci (e2e)"
  (cd e2e && npm ci --no-audit --no-fund)
fi
if [ ! -d sdk/node_modules ] || [ sdk/package-lock.json -nt sdk/node_modules ]; then
  step "npm ci (sdk)"
  (cd sdk && npm ci --no-audit --no-fund)
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace

step "browser SDK: type check (tsc --checkJs) and unit tests"
(cd sdk && npm test)

step "fuzz: short runs of the signaling parser, the session state machine, WHIP/WHEP trickle fragments, frame assembly, ICE-TCP framing, the TURN relay, the shared HTTPS port's first bytes, recording, RTMP ingest and HLS requests"
bash scripts/fuzz.sh 20 signal_parse core_sequences trickle_sdpfrag frame_assembly tcp_framing turn_relay shared_port recording rtmp_ingest hls_request

step "release build for the browser tests"
cargo build --release --bin tern

step "Python clients: aiortc publishes, plays and leaves every way; GStreamer and FFmpeg publish over WHIP"
bash scripts/aiortc.sh

step "browser end-to-end tests"
# Every stream's first player goes to another media worker than its publisher
# (relayed packets), its second one beside it: both paths run in browsers.
(cd e2e && TERN_SPREAD_PLAYERS_AFTER=1 npm test)
