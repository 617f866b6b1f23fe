#!/usr/bin/env python3
"""CPU and memory of recording (issue #17): N streams published by tern-load
(VP8 at 1.5 Mbit/s, 30 fps, a keyframe every 2 s, Opus 50 packets/s) into an
app that records every stream (mp4MuxingEnabled) and into one that does not,
one Tern per run, same load. Prints Tern's CPU and RSS for both and what one
recorded stream adds, for N = 1, 10, 50; and checks that every stream's
recording landed (VoD count, file sizes).

  cargo build --release -p tern-server -p tern-load
  python3 bench/recording_cost.py [--streams 1,10,50] [--seconds 20]

Loopback only; no root needed. Absolute figures vary between machines: read
the differences and ratios within one run.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN = os.environ.get("TERN_BIN", os.path.join(ROOT, "target/release/tern"))
LOAD = os.environ.get("LOAD_BIN", os.path.join(ROOT, "target/release/tern-load"))
CONFIG = """sockets_per_ip = 100000
new_sockets_per_second = 100000
[apps.Plain]
[apps.Rec]
mp4MuxingEnabled = true
"""


def start_tern(data_dir):
    cfg = os.path.join(data_dir, "tern.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    p = subprocess.Popen(
        [TERN, "--config", cfg, "--data-dir", data_dir, "--http-addr", "127.0.0.1:0",
         "--media-addr", "127.0.0.1:0", "--turn-addr", ""],
        stdout=subprocess.PIPE, stderr=open(os.path.join(data_dir, "tern.log"), "w"), text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        line = p.stdout.readline()
        m = re.search(r"http=127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
    p.kill()
    sys.exit("tern did not start")


def rest(port, app, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{app}/rest/v2/{path}", timeout=5) as r:
        return json.load(r)


def run(app, streams, seconds):
    data_dir = tempfile.mkdtemp(prefix="tern-rec-bench-")
    tern, port = start_tern(data_dir)
    out = os.path.join(data_dir, "load.json")
    try:
        subprocess.run(
            [LOAD, "--url", f"ws://127.0.0.1:{port}/{app}/websocket", "-p", str(streams), "-s", "0",
             "--keyframe-every", "60", "--fps", "30", "--video-kbps", "1500", "--duration", str(seconds),
             "--warmup", "3", "--server-pid", str(tern.pid), "--json", out],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120)
        with open(out) as f:
            rep = json.load(f)
        landed, sizes = 0, 0
        if app == "Rec":
            # The publishers have left: each recording becomes a VoD.
            deadline = time.time() + 30
            while time.time() < deadline and landed < streams:
                landed = rest(port, app, "vods/count")["number"]
                time.sleep(0.5)
            sizes = sum(v["fileSize"] for v in rest(port, app, f"vods/list/0/{max(streams, 1)}"))
        return rep, landed, sizes
    finally:
        tern.terminate()
        try:
            tern.wait(10)
        except subprocess.TimeoutExpired:
            tern.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def find(rep, key):
    """A key anywhere in the report's JSON."""
    if isinstance(rep, dict):
        if key in rep:
            return rep[key]
        for v in rep.values():
            r = find(v, key)
            if r is not None:
                return r
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="1,10,50")
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    for b in (TERN, LOAD):
        if not os.path.exists(b):
            sys.exit(f"missing {b}: cargo build --release -p tern-server -p tern-load")
    print(f"{'streams':>7} {'cpu plain':>10} {'cpu rec':>9} {'+cpu/stream':>12} "
          f"{'rss plain':>10} {'rss rec':>9} {'+rss/stream':>12} {'vods':>5} {'MB/stream/s':>12}")
    for n in [int(x) for x in a.streams.split(",")]:
        plain, _, _ = run("Plain", n, a.seconds)
        rec, landed, sizes = run("Rec", n, a.seconds)
        cp, cr = find(plain, "server_cpu_share"), find(rec, "server_cpu_share")
        rp, rr = find(plain, "server_rss_after"), find(rec, "server_rss_after")
        extra_cpu = (cr - cp) / n * 100
        extra_rss = (rr - rp) / n / 2**20
        # Media written per stream per second of the run (publishing lasted about warmup + window).
        mbps = sizes / n / (a.seconds + 3) / 1e6
        print(f"{n:>7} {cp * 100:>9.1f}% {cr * 100:>8.1f}% {extra_cpu:>10.2f} % "
              f"{rp / 2**20:>8.0f}MB {rr / 2**20:>7.0f}MB {extra_rss:>9.2f} MB {landed:>5} {mbps:>12.3f}")
        if landed != n:
            print(f"  only {landed} of {n} recordings landed", file=sys.stderr)


if __name__ == "__main__":
    main()
