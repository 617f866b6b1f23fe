#!/usr/bin/env bash
# Tern against Janus (VideoRoom), back to back under the same load, server on
# one core, beside the raw limit of that core in the same namespace (what it
# sends with sendmmsg and with UDP GSO when it does nothing else), to which
# each server's egress is given as a fraction. Prints the table of
# bench/README.md; every run's JSON stays in $OUT.
#
#   sudo bench/fanout.sh                      # the sweep and the 500-subscriber join run
#   SWEEP="100 300" DURATION=5 bench/fanout.sh
#
# Knobs (environment): SWEEP (subscribers per stream, ascending), PUBLISHERS,
# DURATION and WARMUP (s), JOIN_RATE (subscribers/s), JOIN_SUBS (the join-time
# run; 0 skips it), SAMPLE (1 in N packets decrypted), SEED, TARGETS ("tern
# janus"), LOSS_LIMIT (fraction), JANUS_EVENT_LOOPS (default 1, which was faster
# here; set it empty for Janus's default of one thread per handle), JOIN_ARGS (more tern-load flags
# for the join-time run, e.g. "--video-kbps 500" to keep it under capacity),
# SCHED (rt or nice, see lib.sh), RAW_DESTS and RAW_SECONDS (the raw limit's
# receivers and seconds per shape), LOAD_ARGS (more tern-load flags for every
# run) with RAW_ARGS (more tern-rawsend flags), e.g. LOAD_ARGS="--audio-pps 0"
# RAW_ARGS="--audio-pps 0" for video alone, the shape of the GSO probe.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SWEEP=${SWEEP:-"100 200 300 400 500 650 800"}
PUBLISHERS=${PUBLISHERS:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
JOIN_RATE=${JOIN_RATE:-100}
JOIN_SUBS=${JOIN_SUBS:-500}
JOIN_ARGS=${JOIN_ARGS:-}
SAMPLE=${SAMPLE:-32}
SEED=${SEED:-1}
TARGETS=${TARGETS:-"tern janus"}
LOSS_LIMIT=${LOSS_LIMIT:-0.005}

bench_begin
# shellcheck disable=SC2086 # RAW_ARGS: more flags, split on spaces
raw_limit "$OUT/raw.json" --dests "${RAW_DESTS:-300}" --seconds "${RAW_SECONDS:-3}" ${RAW_ARGS:-}
echo "raw limit: $(cat "$OUT/raw.json")" >&2

# run KIND NAME SUBS [FLAGS...]: a fresh server, one load run, the server stopped.
run() {
    local kind=$1 name=$2 subs=$3
    shift 3
    server_start "$kind" "$OUT/$name"
    # shellcheck disable=SC2086 # LOAD_ARGS: more flags, split on spaces
    load "$kind" "$OUT/$name.json" -p "$PUBLISHERS" -s "$subs" -d "$DURATION" --warmup "$WARMUP" \
        --join-rate "$JOIN_RATE" --sample "$SAMPLE" --seed "$SEED" --label "$name" ${LOAD_ARGS:-} "$@" || true
    server_stop
    if [ -s "$OUT/$name.json" ]; then
        python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%-14s subs=%-5d pps=%-8.0f loss=%.3f%% cpu=%.0f%% us/pkt=%s join_p99=%sms failed=%d" % (sys.argv[2], j["subscribers"], j["delivered_pps"], 100*j["loss"], 100*(j["server_cpu_share"] or 0), round(j["server_us_per_packet"] or 0, 2), j["join_ms"]["p99"], j["failed"]))' "$OUT/$name.json" "$name" >&2
    else
        echo "$name: no report; see $OUT/$name.out" >&2
    fi
}

passed() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["failed"]==0 and j["dropped"]==0 and j["loss"]<float(sys.argv[2]) else 1)' "$1" "$LOSS_LIMIT" 2>/dev/null
}

# The sweep, the two servers alternating at each step; a server leaves the
# sweep at its first step over the loss limit.
declare -A going
for t in $TARGETS; do going[$t]=1; done
for s in $SWEEP; do
    for t in $TARGETS; do
        [ "${going[$t]}" = 1 ] || continue
        run "$t" "$t-s$s" "$s"
        passed "$OUT/$t-s$s.json" || going[$t]=0
    done
done
if [ "$JOIN_SUBS" -gt 0 ]; then
    for t in $TARGETS; do
        # shellcheck disable=SC2086
        run "$t" "$t-join$JOIN_SUBS" "$JOIN_SUBS" $JOIN_ARGS
    done
fi

python3 "$ROOT/bench/fanout_table.py" "$OUT" "$LOSS_LIMIT" "$JOIN_SUBS" $TARGETS
