#!/usr/bin/env python3
"""Benchmark (not a test): webhook delivery latency with a healthy receiver,
from the moment Tern makes a hook (its `timestamp` field, ms) to the moment the
receiver has read it. The hooks are `publishTimeoutError`s of --count sessions
that publish and never send their offer (webRTCClientStartTimeoutMs = 1000), all
at once (fewer than the 100 sockets one address may hold). Release build; the receiver is Python's http.server on loopback.

    e2e/aiortc/.venv/bin/python bench/webhooks.py [--count 90]
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e" / "aiortc"))
import harness  # noqa: E402

latencies = []
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        at = time.time() * 1000
        hook = json.loads(body)
        with lock:
            latencies.append(at - int(hook["timestamp"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


async def publish_and_wait(http, i):
    async with websockets.connect(f"ws://{http}/LiveApp/websocket") as ws:
        await ws.send(json.dumps({"command": "publish", "streamId": f"hook_{i}"}))
        async for raw in ws:
            if json.loads(raw).get("definition") == "publishTimeoutError":
                return


async def run(http, count):
    await asyncio.gather(*(publish_and_wait(http, i) for i in range(count)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=90)
    count = p.parse_args().count
    # http.server's default listen backlog (5) would drop some of Tern's 16
    # parallel connections at once and time the kernel's SYN retry instead.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    config = f'[apps.LiveApp]\nlistenerHookURL = "{url}"\nwebRTCClientStartTimeoutMs = 1000\n'
    harness.CONFIG = config
    with harness.run_tern() as http:
        asyncio.run(run(http, count))
        deadline = time.monotonic() + 10
        while len(latencies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    server.shutdown()
    got = sorted(latencies)
    if not got:
        raise SystemExit("no hook arrived")
    p99 = got[min(len(got) - 1, int(0.99 * len(got)))]
    print(f"webhooks: {len(got)} of {count} delivered; latency ms median {statistics.median(got):.1f}, "
          f"p99 {p99:.1f}, max {got[-1]:.1f}")


if __name__ == "__main__":
    main()
