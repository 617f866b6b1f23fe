# Shared by bench/fanout.sh and bench/profile.sh (sourced, not run): a network
# namespace with loopback-only addresses, Tern or Janus started in it pinned to
# CPU 0, and tern-load run in it pinned to CPU 1.
#
# Janus gathers no loopback ICE candidates, so the namespace gets a veth pair
# whose two ends both live in it (10.77.0.1 for the server, 10.77.0.2 for the
# clients). Both addresses are local, so packets between them go through the
# namespace's `lo`; accept_local=1 and rp_filter=0 let them in. Nothing leaves
# the namespace. Receive packet steering sends the kernel's receive work for
# those packets to CPU 1 (the generator's), so the server's core does what it
# would with a real NIC: its own work up to handing each datagram to the device.
# A server writes a frame to every subscriber in one burst, longer than the
# kernel's default per-CPU backlog (1000 packets), so net.core.netdev_max_backlog
# (a machine-wide setting) is raised for the run and restored after it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS=${NS:-ternbench$$}
SRV_IP=10.77.0.1
CLI_IP=10.77.0.2
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-${TMPDIR:-/tmp}/tern-bench/$(date +%Y%m%d-%H%M%S)}
TERN_BIN=${TERN_BIN:-$ROOT/target/release/tern}
LOAD_BIN=${LOAD_BIN:-$ROOT/target/release/tern-load}
RAW_BIN=${RAW_BIN:-$ROOT/target/release/tern-rawsend}
SRV_PID=
# Both run at a higher priority than builds or tests others may start on the
# machine, so those disturb the figures less (the report's `others` column says
# how much they still did). SCHED=rt (default): SCHED_RR priority 1, which the
# kernel's RT throttling still caps at 95% of each CPU; SCHED=nice: nice -10.
SCHED=${SCHED:-rt}
if [ "$SCHED" = rt ]; then PRIO=(chrt -r 1); else PRIO=(nice -n -10); fi
BACKLOG=${BACKLOG:-100000}
OLD_BACKLOG=

need_tools() {
    [ "$(id -u)" = 0 ] || { echo "run as root: it creates a network namespace" >&2; exit 2; }
    for t in ip taskset; do
        command -v $t >/dev/null || { echo "missing $t (apt-get install iproute2 util-linux)" >&2; exit 2; }
    done
    if ! command -v janus >/dev/null; then
        echo "installing Debian's janus" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq janus >/dev/null
    fi
    [ "$(nproc)" -ge 2 ] || echo "warning: fewer than 2 CPUs; server and generator share one" >&2
}

# bench_begin: tools checked, binaries built, the namespace up (and down on
# exit), results going to $OUT.
bench_begin() {
    need_tools
    build
    mkdir -p "$OUT"
    trap ns_down EXIT
    ns_up
    echo "results in $OUT" >&2
}

build() {
    (cd "$ROOT" && cargo build --release -q -p tern-server -p tern-load)
}

ns_up() {
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" link add tb0 type veth peer name tb1
    ip -n "$NS" addr add $SRV_IP/24 dev tb0
    ip -n "$NS" addr add $CLI_IP/24 dev tb1
    ip -n "$NS" link set tb0 up
    ip -n "$NS" link set tb1 up
    for i in all default lo tb0 tb1; do
        ip netns exec "$NS" sysctl -qw net.ipv4.conf.$i.accept_local=1 net.ipv4.conf.$i.rp_filter=0
    done
    OLD_BACKLOG=$(sysctl -n net.core.netdev_max_backlog)
    sysctl -qw net.core.netdev_max_backlog="$BACKLOG"
    # RPS=0 leaves the receive work on the sending CPU (the server's).
    if [ "${RPS:-1}" = 1 ]; then
        local mask
        mask=$(printf '%x' $((1 << LOAD_CPU)))
        ip netns exec "$NS" sh -c "for d in lo tb0 tb1; do echo $mask > /sys/class/net/\$d/queues/rx-0/rps_cpus; done"
    fi
}

ns_down() {
    server_stop
    ip netns del "$NS" 2>/dev/null || true
    if [ -n "$OLD_BACKLOG" ]; then
        sysctl -qw net.core.netdev_max_backlog="$OLD_BACKLOG"
    fi
}

# raw_limit FILE [FLAGS...]: what the server's core sends when it does nothing
# else (tern-rawsend: sendmmsg, and UDP GSO, to receivers at the generator's
# address), with the same priority and pinning as a server; JSON into FILE.
raw_limit() {
    local file=$1
    shift
    ip netns exec "$NS" "${PRIO[@]}" taskset -c "$SERVER_CPU" "$RAW_BIN" --bind $SRV_IP --to $CLI_IP "$@" >"$file"
}

# server_start tern|janus DIR: starts it in the namespace, sets SRV_PID and URL.
server_start() {
    local kind=$1 dir=$2
    mkdir -p "$dir"
    case $kind in
    tern)
        # shellcheck disable=SC2086 # TERN_ARGS: more flags, split on spaces
        ip netns exec "$NS" "${PRIO[@]}" taskset -c "$SERVER_CPU" "$TERN_BIN" --config "$ROOT/bench/tern.toml" \
            --http-addr $SRV_IP:5080 --media-addr $SRV_IP:50000 --data-dir "$dir/data" ${TERN_ARGS:-} \
            >"$dir/server.out" 2>"$dir/server.err" &
        SRV_PID=$!
        URL=ws://$SRV_IP:5080/LiveApp/websocket
        ;;
    janus)
        # One event loop for every handle was faster on one core than Janus's
        # default of a thread per handle; JANUS_EVENT_LOOPS= (empty) restores that.
        local loops=""
        [ -n "${JANUS_EVENT_LOOPS-1}" ] && loops="event_loops = ${JANUS_EVENT_LOOPS-1}"
        for f in "$ROOT"/bench/janus/*.jcfg; do
            sed "s#@CONF@#$dir#; s#@EVENT_LOOPS@#$loops#" "$f" >"$dir/$(basename "$f")"
        done
        ip netns exec "$NS" "${PRIO[@]}" taskset -c "$SERVER_CPU" janus -C "$dir/janus.jcfg" -F "$dir" \
            -L "$dir/janus.log" >"$dir/server.out" 2>&1 &
        SRV_PID=$!
        URL=ws://$SRV_IP:8188
        ;;
    esac
    local port=${URL#ws://$SRV_IP:}
    port=${port%%/*}
    for _ in $(seq 100); do
        if ip netns exec "$NS" bash -c "echo >/dev/tcp/$SRV_IP/$port" 2>/dev/null; then
            return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "$kind did not start; see $dir" >&2
    return 1
}

server_stop() {
    [ -n "$SRV_PID" ] || return 0
    kill -INT "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=
}

# load KIND JSON ARGS...: one tern-load run against the running server.
load() {
    local kind=$1 json=$2
    shift 2
    ip netns exec "$NS" "${PRIO[@]}" taskset -c "$LOAD_CPU" "$LOAD_BIN" --target "$kind" --url "$URL" \
        --bind $CLI_IP --server-pid "$SRV_PID" --json "$json" "$@" >"${json%.json}.out" 2>&1
}
