"""What the Python suites share: Tern (the release binary: TERN_BIN, else
target/release/tern) started on free ports, and client processes whose JSON
events are collected as they come.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TERN = os.environ.get("TERN_BIN", str(ROOT / "target" / "release" / "tern"))
CONFIG = """
[apps.H264App]
vp8Enabled = false
h264Enabled = true

[apps.ShortApp]
webRTCClientStartTimeoutMs = 1500
"""
WINDOW = 1.5
READY = re.compile(r"^tern listening http=(\S+):(\d+) media=")


@contextlib.contextmanager
def run_tern(media_ip="127.0.0.1"):
    """Tern on free ports; yields its host:port. `media_ip` 0.0.0.0 gives ICE
    candidates on every interface (clients that never use loopback need one)."""
    with tempfile.TemporaryDirectory() as d:
        config = Path(d) / "tern.toml"
        config.write_text(CONFIG)
        proc = subprocess.Popen(
            [TERN, "--config", str(config), "--http-addr", "127.0.0.1:0",
             "--media-addr", f"{media_ip}:0", "--data-dir", str(Path(d) / "data"),
             # TURN off: its default port would be shared by side-by-side runs.
             "--turn-addr", ""],
            stdout=subprocess.PIPE, stderr=open(Path(d) / "tern.log", "w"), text=True)
        http = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            m = READY.match(line)
            if m:
                http = f"{m.group(1)}:{m.group(2)}"
                break
        assert http, "tern did not start"
        yield http
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Process:
    """A client in a process of its own, printing one JSON event per line."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            e["at"] = time.monotonic()
            with self.lock:
                self.events.append(e)

    def wait(self, event, timeout=20.0, where=lambda e: True):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for e in self.events:
                    if e["event"] == event and where(e):
                        return e
            if self.proc.poll() is not None and event != "socket_closed":
                break
            time.sleep(0.05)
        with self.lock:
            seen = [e["event"] for e in self.events][-20:]
        err = self.proc.stderr.read() if self.proc.poll() is not None else ""
        raise AssertionError(f"no {event} within {timeout} s; saw {seen}; {err[-2000:]}")

    def frames(self):
        with self.lock:
            last = [e for e in self.events if e["event"] == "frames"]
        return last[-1] if last else {"video": 0, "audio": 0, "sizes": []}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(10)


class Client(Process):
    """client.py (aiortc over the WebSocket protocol) publishing or playing."""

    def __init__(self, http, mode, app, stream, *extra):
        ws = f"ws://{http}/{app}/websocket"
        super().__init__([sys.executable, str(HERE / "client.py"), mode, ws, stream, *extra])


@pytest.fixture(scope="module")
def tern():
    with run_tern() as http:
        yield http


@pytest.fixture
def clients():
    made = []
    yield made
    for c in made:
        c.stop()


def start(clients, *args):
    c = Client(*args)
    clients.append(c)
    return c


def live(tern, clients, app, stream, *publish_args):
    pub = start(clients, tern, "publish", app, stream, *publish_args)
    pub.wait("publish_started")
    player = start(clients, tern, "play", app, stream)
    player.wait("play_started")
    player.wait("frames", where=lambda e: e["video"] >= 15 and e["audio"] >= 15)
    return pub, player


def viewers(tern, app, stream):
    with urllib.request.urlopen(f"http://{tern}/{app}/rest/v2/broadcasts/{stream}") as r:
        return json.load(r)["webRTCViewerCount"]


