#!/usr/bin/env bash
# What relaying a stream between media workers costs: one stream, SUBS
# subscribers, the server pinned to one core, run back to back with one media
# worker (every player beside its publisher) and with two workers on that same
# core, where the players past SPREAD go to the second worker and get the
# publisher's packets relayed (shared, not copied). On one core the extra CPU
# time is the relay's own cost; on a machine with a core per worker the second
# worker's share would run in parallel.
#
#   sudo bench/relay.sh                 # SUBS=400 SPREAD=200
#   SUBS=300 SPREAD=100 ROUNDS=2 bench/relay.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SUBS=${SUBS:-400}
SPREAD=${SPREAD:-200}
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
JOIN_RATE=${JOIN_RATE:-100}
SAMPLE=${SAMPLE:-32}

bench_begin

run() {
    local name=$1
    server_start tern "$OUT/$name"
    load tern "$OUT/$name.json" -p 1 -s "$SUBS" -d "$DURATION" --warmup "$WARMUP" \
        --join-rate "$JOIN_RATE" --sample "$SAMPLE" --seed 1 --label "$name" || true
    server_stop
}

for r in $(seq "$ROUNDS"); do
    TERN_ARGS="--media-workers 1" run "one-worker-$r"
    TERN_ARGS="--media-workers 2 --spread-players-after $SPREAD" run "two-workers-$r"
done

python3 - "$OUT" "$SUBS" "$SPREAD" "$ROUNDS" <<'PY'
import json, sys
out, subs, spread, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"one stream, {subs} subscribers, server on one core; second worker takes players past {spread}")
print(f"{'run':<16}{'egress pkt/s':>14}{'loss %':>9}{'CPU':>6}{'µs/pkt':>9}{'join p99 ms':>13}{'delay p50/p99 ms':>19}")
rows = {}
for r in range(1, rounds + 1):
    for name in (f"one-worker-{r}", f"two-workers-{r}"):
        try:
            j = json.load(open(f"{out}/{name}.json"))
        except (OSError, ValueError):
            print(f"{name:<16} no report; see {out}/{name}.out")
            continue
        rows[name] = j
        d = j["delay_us"]
        print(f"{name:<16}{j['delivered_pps']:>14.0f}{100*j['loss']:>9.3f}{100*(j['server_cpu_share'] or 0):>5.0f}%"
              f"{j['server_us_per_packet'] or 0:>9.2f}{j['join_ms']['p99']:>13.0f}"
              f"{d['p50']/1000:>11.1f}/{d['p99']/1000:.1f}")
for r in range(1, rounds + 1):
    a, b = rows.get(f"one-worker-{r}"), rows.get(f"two-workers-{r}")
    if a and b and a["server_us_per_packet"] and b["server_us_per_packet"]:
        print(f"round {r}: CPU per delivered packet, two workers / one worker = "
              f"{b['server_us_per_packet'] / a['server_us_per_packet']:.3f}")
PY
