#!/usr/bin/env bash
# Runs fuzz targets with cargo-fuzz (nightly). Usage:
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: signal_parse, core_sequences, trickle_sdpfrag (fuzz/), sdp_offer, frame_assembly, tcp_framing, turn_relay, shared_port, recording, rtmp_ingest, hls_request, vp8_ids (fuzz-media/).
# Default: 20 s each for signal_parse, core_sequences and trickle_sdpfrag.
# A longer run:  bash scripts/fuzz.sh 600 signal_parse core_sequences sdp_offer
# Each run starts from the checked-in seed corpus, copied to a temporary folder
# so that the repository's corpus stays small; crashes land in fuzz*/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(signal_parse core_sequences trickle_sdpfrag)

if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped: no nightly toolchain can be had on this machine"
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

for t in "${targets[@]}"; do
  case "$t" in
    sdp_offer|frame_assembly|tcp_framing|turn_relay|shared_port|recording|rtmp_ingest|hls_request|vp8_ids) dir=fuzz-media ;;
    *) dir=fuzz ;;
  esac
  corpus=$(mktemp -d)
  cp "$dir/corpus/$t/"* "$corpus/"
  echo "fuzz: building $t"
  cargo +nightly fuzz build --fuzz-dir "$dir" -O "$t"
  echo "fuzz: $t for ${secs}s"
  cargo +nightly fuzz run --fuzz-dir "$dir" -O "$t" "$corpus" -- \
    -max_total_time="$secs" -print_final_stats=1 2>&1 |
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY|panicked|ERROR" || true
  rm -rf "$corpus"
  if ls "$dir/artifacts/$t/"crash-* >/dev/null 2>&1; then
    echo "fuzz: $t found a crash: $(ls "$dir/artifacts/$t/")"
    exit 1
  fi
done
echo "fuzz: no crashes"
