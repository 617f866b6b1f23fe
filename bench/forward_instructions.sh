#!/usr/bin/env bash
# Instructions per forwarded packet of the forward micro-benchmark, counted by
# callgrind: stable from run to run where wall-clock times on a shared 2-core
# machine swing by ±30 %. Counts only the timed part (the SFU's handle_datagram
# and poll_output called by the benchmark loop), divided by the input packets.
#
#   bench/forward_instructions.sh [PLAYERS] [BENCH_BINARY...]
#
# With no binary, builds and measures this tree's. Give two (e.g. one built
# from another checkout with CARGO_TARGET_DIR) to compare them in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
players=${1:-10}
shift || true
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  bin=$(cargo bench -p tern-media --bench forward --no-run 2>&1 | grep -o 'target/release/deps/forward-[0-9a-f]*' | tail -1)
  bins=("$bin")
fi
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp -d)
printf '%-60s %12s %14s %12s\n' binary "inputs" "instr/input" "instr/output"
for b in "${bins[@]}"; do
  f="$out/$(basename "$b").cg"
  valgrind --tool=callgrind --callgrind-out-file="$f" "$b" --bench --profile-time 3 "packet/$players\$" >/dev/null 2>&1
  # Calls from the benchmark's timed loop (iter_custom): "N (…) < …iter_custom (Kx)".
  callgrind_annotate --inclusive=yes --tree=caller "$f" 2>/dev/null | awk -v p="$players" -v b="$b" '
    /iter_custom \([0-9,]+x\)/ { held = $0; next }
    /\* .*Sfu::handle_datagram \[/ { split(held, a, " "); gsub(",", "", a[1]); dg = a[1];
        match(held, /\(([0-9,]+)x\)/); n = substr(held, RSTART + 1, RLENGTH - 3); gsub(",", "", n) }
    /\* .*Sfu::poll_output \[/ { split(held, a, " "); gsub(",", "", a[1]); po = a[1] }
    !/^ +[0-9,]+ .*< / { held = held }
    END { if (n > 0) printf "%-60s %12d %14.0f %12.0f\n", b, n, (dg + po) / n, (dg + po) / n / p }'
done
rm -rf "$out"
