#!/usr/bin/env bash
# Where a server's time goes per forwarded packet: one tern-load run against
# Tern (or Janus) pinned to one core, with `perf record -e cpu-clock` on the
# server during the measuring window, then a summary by component.
#
#   sudo bench/profile.sh tern 300         # KIND SUBSCRIBERS_PER_STREAM
#   PROFILE_LOAD=1 bench/profile.sh tern 300   # also profile the generator
#
# cpu-clock sampling works on VMs without hardware counters (`perf stat -e
# instructions` is not supported on this machine). Knobs: PUBLISHERS, DURATION,
# PERF_SECONDS, JOIN_RATE, SAMPLE, CALLGRAPH (fp by default; `dwarf` unwinds
# Rust frames, which have no frame pointers, at a much larger file: use a lower
# FREQ, e.g. CALLGRAPH=dwarf FREQ=500 PERF_SECONDS=3).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

KIND=${1:-tern}
SUBS=${2:-300}
PUBLISHERS=${PUBLISHERS:-1}
DURATION=${DURATION:-12}
PERF_SECONDS=${PERF_SECONDS:-8}
JOIN_RATE=${JOIN_RATE:-100}
SAMPLE=${SAMPLE:-32}

command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 2; }
bench_begin

name=$KIND-profile-s$SUBS
server_start "$KIND" "$OUT/$name"
load "$KIND" "$OUT/$name.json" -p "$PUBLISHERS" -s "$SUBS" -d "$DURATION" --warmup 1 \
    --join-rate "$JOIN_RATE" --sample "$SAMPLE" --label "$name" &
load_pid=$!
# Wait for the joins to end, then for the warm-up.
for _ in $(seq 600); do
    grep -q "subscribers joined" "$OUT/$name.out" 2>/dev/null && break
    sleep 0.1
done
sleep 1.5
perf record -q -e cpu-clock -F "${FREQ:-4000}" --call-graph "${CALLGRAPH:-fp}" -p "$SRV_PID" -o "$OUT/$name.server.perf" -- sleep "$PERF_SECONDS" 2>/dev/null &
perf_srv=$!
if [ -n "${PROFILE_LOAD:-}" ]; then
    gen=$(pgrep -x tern-load | head -1)
    perf record -q -e cpu-clock -F 4000 -g -p "$gen" -o "$OUT/$name.load.perf" -- sleep "$PERF_SECONDS" 2>/dev/null &
    wait $!
fi
wait $perf_srv
wait $load_pid || true
server_stop
cat "$OUT/$name.out"
echo
echo "== server ($KIND): share of its CPU samples by component"
perf report -i "$OUT/$name.server.perf" --no-children --sort dso,sym -g none --stdio 2>/dev/null \
    | python3 "$ROOT/bench/perf_summary.py"
if [ -n "${PROFILE_LOAD:-}" ]; then
    echo
    echo "== tern-load: share of its CPU samples by component"
    perf report -i "$OUT/$name.load.perf" --no-children --sort dso,sym -g none --stdio 2>/dev/null \
        | python3 "$ROOT/bench/perf_summary.py"
fi
echo "perf data: $OUT/$name.*.perf (perf report -i FILE)"
