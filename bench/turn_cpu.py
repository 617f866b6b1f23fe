#!/usr/bin/env python3
"""CPU per relayed Mbit/s: Tern's built-in TURN server beside coturn, relaying
the same load in the same run (issue #18).

Each server relays for turnutils_uclient (coturn's load client: CLIENTS
clients, each with an RTP and an RTCP allocation, sending MSG-byte messages
every INTERVAL ms through a channel) to turnutils_peer (an echo peer), all on
loopback. The server process's CPU time (utime + stime from /proc) over the
run is divided by the bits relayed (client to peer and back, from the
client's own counts). Rounds alternate the two servers; medians are printed.

    python3 bench/turn_cpu.py [--rounds 3] [--clients 20] [--messages 1500]

Needs target/release/tern (or TERN_BIN) and Debian's coturn. Absolute times
vary on a shared machine: compare the two columns of one run.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TERN = os.environ.get("TERN_BIN", str(ROOT / "target" / "release" / "tern"))
SECRET = "bench-secret"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process and its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_udp_listening(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ss", "-Hlun", f"sport = :{port}"], capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on UDP {port}")


def start_tern(d, port):
    cfg = Path(d) / "tern.toml"
    cfg.write_text(f'[turn]\naddr = "127.0.0.1:{port}"\nsecret = "{SECRET}"\nallowed_peers = "127.0.0.1/32"\n'
                   "max_bitrate = 1000000000\n")
    p = subprocess.Popen([TERN, "--config", str(cfg), "--http-addr", "127.0.0.1:0", "--media-addr", "127.0.0.1:0",
                          "--media-workers", "1", "--data-dir", str(Path(d) / "data")],
                         stdout=subprocess.DEVNULL, stderr=open(Path(d) / "tern.log", "w"))
    wait_udp_listening(port)
    return p


def start_coturn(d, port):
    p = subprocess.Popen(["turnserver", "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}",
                          "--relay-ip=127.0.0.1", "--use-auth-secret", f"--static-auth-secret={SECRET}",
                          "--realm=tern", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
                          "--no-stdout-log", "--simple-log", f"--log-file={Path(d) / 'coturn.log'}",
                          "--pidfile", str(Path(d) / "coturn.pid")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_udp_listening(port)
    return p


def load(server_port, peer_port, args):
    """Runs the load; returns the bits relayed (both ways) and the loss."""
    out = subprocess.run(
        ["turnutils_uclient", "-p", str(server_port), "-W", SECRET, "-u", "bench", "-e", "127.0.0.1",
         "-r", str(peer_port), "-m", str(args.clients), "-n", str(args.messages), "-l", str(args.msg),
         "-z", str(args.interval), "127.0.0.1"],
        capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    sent = re.findall(r"tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)", text)
    lost = re.findall(r"Total lost packets (\d+) \(([\d.]+)%\)", text)
    if out.returncode != 0 or not sent:
        raise RuntimeError(f"turnutils_uclient failed ({out.returncode}):\n{text[-2000:]}")
    s, r = map(int, sent[-1])
    return (s + r) * 8, float(lost[-1][1]) if lost else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--messages", type=int, default=1500)
    ap.add_argument("--msg", type=int, default=1000, help="message bytes")
    ap.add_argument("--interval", type=int, default=10, help="ms between a client's messages")
    args = ap.parse_args()
    if not Path(TERN).exists():
        sys.exit(f"{TERN} not found: cargo build --release --bin tern")
    results = {"tern": [], "coturn": []}
    with tempfile.TemporaryDirectory() as d:
        peer_port = free_port()
        peer = subprocess.Popen(["turnutils_peer", "-L", "127.0.0.1", "-p", str(peer_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for rnd in range(args.rounds):
                for name, start in (("tern", start_tern), ("coturn", start_coturn)):
                    port = free_port()
                    proc = start(d, port)
                    try:
                        time.sleep(0.5)
                        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
                        bits, loss = load(port, peer_port, args)
                        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
                    finally:
                        proc.terminate()
                        proc.wait(10)
                    mbit = bits / 1e6
                    results[name].append((c1 - c0) / mbit * 1e3)
                    print(f"round {rnd + 1} {name:6}: {mbit:8.1f} Mbit relayed in {t1 - t0:5.1f} s "
                          f"({mbit / (t1 - t0):6.1f} Mbit/s), CPU {c1 - c0:5.2f} s, "
                          f"{results[name][-1]:6.2f} ms CPU per Mbit, loss {loss:.2f} %", flush=True)
        finally:
            peer.terminate()
    t, c = statistics.median(results["tern"]), statistics.median(results["coturn"])
    print(f"\nmedian CPU per relayed Mbit: tern {t:.2f} ms, coturn {c:.2f} ms, tern/coturn {t / c:.2f}")


if __name__ == "__main__":
    main()
