#!/usr/bin/env python3
"""`GET /metrics` with many players: scrape time and size with 0 and with N
connected players (tern-load, one stream), and the console's state event for
comparison. Labels are per application, never per stream or peer, so the size
must not grow with the players; the time may (the census walks every peer).

    python3 bench/metrics_scrape.py --players 1000 --scrapes 50

Needs target/release/tern and target/release/tern-load (cargo build --release).
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN = os.environ.get("TERN_BIN", os.path.join(ROOT, "target/release/tern"))
LOAD = os.path.join(ROOT, "target/release/tern-load")
ACCEPT = {"Accept": "application/openmetrics-text; version=1.0.0"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(http, accept=True):
    req = urllib.request.Request(f"http://{http}/metrics", headers=ACCEPT if accept else {})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return (time.perf_counter() - t0) * 1000, body


def players_now(body):
    m = re.search(rb'^tern_players_connected\{[^}]*kind="WebRTC"[^}]*\} (\d+)', body, re.M)
    return int(m.group(1)) if m else 0


def measure(http, n):
    scrape(http)  # warm the connection path
    times, sizes = [], []
    for _ in range(n):
        ms, body = scrape(http)
        times.append(ms)
        sizes.append(len(body))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], max(sizes)


def console_event_size(http):
    """Bytes of one console `state` event (it names every stream and player)."""
    with urllib.request.urlopen(f"http://{http}/console/api/events", timeout=10) as r:
        for raw in r:
            line = raw.decode()
            if line.startswith("data: "):
                return len(line) - 6, json.loads(line[6:])
    return 0, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=50)
    args = ap.parse_args()
    http_port = free_port()
    http = f"127.0.0.1:{http_port}"
    with tempfile.TemporaryDirectory() as data:
        cfg = os.path.join(data, "tern.toml")
        with open(cfg, "w") as f:
            # One address holds every player of the load generator.
            f.write("sockets_per_ip = 100000\nnew_sockets_per_second = 100000\n")
        tern = subprocess.Popen([TERN, "--config", cfg, "--http-addr", http, "--media-addr", "127.0.0.1:0",
                                 "--data-dir", data], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = tern.stdout.readline()
            media = re.search(r"media=([^\s]+)", line)
            assert media, f"no ready line: {line!r}"
            med0, p99_0, size0 = measure(http, args.scrapes)
            load = subprocess.Popen([LOAD, "--url", f"ws://{http}/LiveApp/websocket", "-p", "1",
                                     "-s", str(args.players), "-d", "600", "--video-kbps", "200",
                                     "--join-rate", "200", "--join-timeout", "60"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.time() + 120
                seen = 0
                while time.time() < deadline:
                    seen = players_now(scrape(http)[1])
                    if seen >= args.players:
                        break
                    time.sleep(1)
                assert seen >= args.players, f"only {seen} players connected"
                med, p99, size = measure(http, args.scrapes)
                ev_size, _ = console_event_size(http)
            finally:
                load.terminate()
                load.wait(timeout=30)
        finally:
            tern.terminate()
            tern.wait(timeout=30)
    print(f"/metrics with 0 players:    median {med0:.2f} ms, p99 {p99_0:.2f} ms, {size0} bytes ({args.scrapes} scrapes)")
    print(f"/metrics with {args.players} players: median {med:.2f} ms, p99 {p99:.2f} ms, {size} bytes ({args.scrapes} scrapes)")
    print(f"console state event with {args.players} players: {ev_size} bytes")


if __name__ == "__main__":
    main()
