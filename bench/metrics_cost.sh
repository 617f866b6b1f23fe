#!/usr/bin/env bash
# What metrics cost on the forwarding path, in instructions (callgrind counts
# the same on a busy machine, unlike time): the forwarding micro-benchmark's
# room (crates/media/benches/forward_room.rs) forwards PACKETS publisher packets
# to PLAYERS players with metrics off, then on (per-peer quality statistics,
# and the worker's counters bumped once per batch as the server does), counting
# only inside the server's part. Prints instructions per forwarded packet and
# the ratio.
#
#   bench/metrics_cost.sh                 # 10 and 100 players, 1000 packets (10 s of video)
#   PLAYERS="10" PACKETS=2000 bench/metrics_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS=${PLAYERS:-"10 100"}
PACKETS=${PACKETS:-1000}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 2; }
cargo bench -p tern-media --bench forward_count --no-run >/dev/null 2>&1 \
    || cargo bench -p tern-media --bench forward_count --no-run
BIN=$(ls -t target/release/deps/forward_count-* | grep -v '\.d$' | head -1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf '%-8s %-8s %14s %14s %10s\n' players packets "Ir/pkt off" "Ir/pkt on" "on/off"
for players in $PLAYERS; do
    declare -A per
    for m in off on; do
        log=$OUT/$players-$m.log
        valgrind --tool=callgrind --callgrind-out-file="$OUT/cg-$players-$m" \
            --toggle-collect='*Room*serve*' --toggle-collect='*count_batch*' \
            "$BIN" "$players" "$PACKETS" "$m" >"$log" 2>&1
        sent=$(grep -E '^[0-9]+$' "$log" | tail -1)
        ir=$(grep -oE 'Collected : [0-9]+' "$log" | grep -oE '[0-9]+')
        per[$m]=$(( ir / sent ))
    done
    printf '%-8s %-8s %14s %14s %10s\n' "$players" "$PACKETS" "${per[off]}" "${per[on]}" \
        "$(awk -v a="${per[on]}" -v b="${per[off]}" 'BEGIN { printf "%.4f", a / b }')"
    unset per
done
