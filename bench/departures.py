#!/usr/bin/env python3
"""Benchmark (not a test): for each way a publisher leaves, the time from the
event to its player's play_finished, from a peer-to-peer peer's vanished
network to the other peer's `stop`, and from a republish to the player
decoding again; median of --runs (5). aiortc clients (e2e/aiortc/client.py),
the default restore window (webRTCClientStartTimeoutMs = 10 s), release build.

    bash scripts/aiortc.sh --co >/dev/null   # makes e2e/aiortc/.venv once
    e2e/aiortc/.venv/bin/python bench/departures.py [--runs 5]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e" / "aiortc"))
from harness import READY, TERN, Client  # noqa: E402


def start_tern(d):
    proc = subprocess.Popen(
        [TERN, "--http-addr", "127.0.0.1:0", "--media-addr", "127.0.0.1:0",
         "--data-dir", str(Path(d) / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for _ in range(50):
        m = READY.match(proc.stdout.readline())
        if m:
            return proc, f"{m.group(1)}:{m.group(2)}"
    raise SystemExit("tern did not start")


def live(http, stream):
    pub = Client(http, "publish", "LiveApp", stream)
    pub.wait("publish_started")
    player = Client(http, "play", "LiveApp", stream)
    player.wait("play_started")
    player.wait("frames", where=lambda e: e["video"] >= 15)
    return pub, player


def ended(http, cause, n):
    """Seconds from the cause to the player's play_finished."""
    stream = "dep_" + "".join(c if c.isalnum() else "_" for c in cause) + f"_{n}"
    if cause == "pc.close()":
        pub = Client(http, "publish", "LiveApp", stream, "--close-after", "2")
        pub.wait("publish_started")
        player = Client(http, "play", "LiveApp", stream)
        t0 = pub.wait("closed_peer_connection", timeout=15)["at"]
    else:
        pub, player = live(http, stream)
        t0 = time.monotonic()
        if cause == "kill -9":
            pub.proc.kill()
        else:  # the network vanishes: no packet, the socket stays open
            pub.proc.send_signal(signal.SIGSTOP)
    took = player.wait("play_finished", timeout=30)["at"] - t0
    pub.stop()
    player.stop()
    return took


def p2p_gone(http, n):
    """Seconds from a peer-to-peer peer's freeze (its network gone: no answer
    to pings, its socket open) to the other peer's `stop`."""
    stream = f"dep_p2p_{n}"
    a = Client(http, "join", "LiveApp", stream)
    a.wait("joined")
    b = Client(http, "join", "LiveApp", stream)
    b.wait("joined")
    a.wait("start")
    b.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    took = a.wait("stop", timeout=15)["at"] - t0
    a.stop()
    b.stop()
    return took


def restored(http, n):
    """Seconds from a new publisher's start (after kill -9) to the player decoding again."""
    stream = f"dep_restore_{n}"
    pub, player = live(http, stream)
    pub.proc.kill()
    time.sleep(1)
    before = player.frames()["video"]
    t0 = time.monotonic()
    again = Client(http, "publish", "LiveApp", stream)
    again.wait("session_restored")
    up = player.wait("frames", timeout=20, where=lambda e: e["video"] > before + 5)["at"]
    startup = again.wait("start")["at"] - t0
    again.stop()
    player.stop()
    return up - t0, startup


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    runs = p.parse_args().runs
    with tempfile.TemporaryDirectory() as d:
        proc, http = start_tern(d)
        try:
            rows = []
            for cause in ["pc.close()", "kill -9", "network gone"]:
                times = [ended(http, cause, i) for i in range(runs)]
                rows.append((cause, "play_finished", times))
            rows.append(("p2p peer's network gone", "other's stop", [p2p_gone(http, i) for i in range(runs)]))
            back = [restored(http, i) for i in range(runs)]
            rows.append(("kill -9, republish in the window", "decoding again", [b[0] for b in back]))
            rows.append(("  of which the new client's start", "", [b[1] for b in back]))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    print(f"restore window 10 s (default); aiortc clients; {runs} runs each; seconds")
    print(f"{'cause':36} {'until':15} {'median':>7} {'min':>7} {'max':>7}")
    for cause, until, t in rows:
        print(f"{cause:36} {until:15} {statistics.median(t):7.2f} {min(t):7.2f} {max(t):7.2f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
