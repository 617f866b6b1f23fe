#!/usr/bin/env python3
"""A/V drift in a long recording (issue #17): Debian's ffmpeg pushes over RTMP
a white flash and a 1 kHz beep made together, 100 ms at the start of every
second, for --seconds (default 600); Tern records it (mp4MuxingEnabled: H.264
passed through and its AAC kept). The finished MP4 is then read back:
each flash's time (first bright frame, ffprobe signalstats) against its beep's
(first loud sample of the decoded audio). Prints the offset over the first and
the last minute and the drift between them (the issue's bound: 40 ms).

  cargo build --release -p tern-server
  python3 bench/recording_drift.py [--seconds 600]
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN = os.environ.get("TERN_BIN", os.path.join(ROOT, "target/release/tern"))
RATE = 48000


def start_tern(data_dir):
    cfg = os.path.join(data_dir, "tern.toml")
    with open(cfg, "w") as f:
        f.write("[apps.Drift]\nmp4MuxingEnabled = true\n")
    p = subprocess.Popen(
        [TERN, "--config", cfg, "--data-dir", data_dir, "--http-addr", "127.0.0.1:0",
         "--media-addr", "127.0.0.1:0", "--turn-addr", "", "--srt-addr", "",
         "--rtmp-addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=open(os.path.join(data_dir, "tern.log"), "w"), text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        line = p.stdout.readline()
        m = re.search(r"http=127\.0\.0\.1:(\d+).* rtmp=127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1)), int(m.group(2))
    p.kill()
    sys.exit("tern did not start")


def vods(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/Drift/rest/v2/vods/list/0/10", timeout=5) as r:
        return json.load(r)


def flashes(path):
    """Times (s) of the frames where the picture turns bright."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", f"movie={path},signalstats",
         "-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
        check=True, capture_output=True, text=True).stdout
    times, bright = [], False
    for line in out.splitlines():
        parts = line.split(",")
        if len(parts) < 2:
            continue
        t, y = float(parts[0]), float(parts[1])
        on = y > 128
        if on and not bright:
            times.append(t)
        bright = on
    return times


def beeps(path):
    """Times (s) of the first loud sample after silence, on the file's clock."""
    start = float(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=start_time",
         "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout.strip() or 0)
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", str(RATE),
         "-f", "s16le", "-"], check=True, capture_output=True).stdout
    n = len(pcm) // 2
    x = struct.unpack(f"<{n}h", pcm[: n * 2])
    times, quiet_since = [], -RATE
    last_loud = -RATE
    for i, v in enumerate(x):
        if abs(v) > 6000:
            if i - last_loud > RATE // 2:
                times.append(start + i / RATE)
            last_loud = i
    return times


def pair(flash, beep):
    """Audio minus video (ms) for each flash with a beep within 0.5 s."""
    out = []
    for f in flash:
        b = min(beep, key=lambda t: abs(t - f), default=None)
        if b is not None and abs(b - f) < 0.5:
            out.append((f, (b - f) * 1000))
    return out


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if s else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="tern-drift-")
    tern, http, rtmp = start_tern(data)
    try:
        enc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
             "-f", "lavfi", "-i", "color=c=black:s=320x240:r=30,"
             "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'",
             "-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.8*sin(2*PI*1000*t)\\,0)':s=44100",
             "-t", str(args.seconds), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
             "-pix_fmt", "yuv420p", "-g", "60", "-bf", "0", "-c:a", "aac", "-b:a", "96k",
             "-f", "flv", f"rtmp://127.0.0.1:{rtmp}/Drift/drift"])
        enc.wait()
        deadline = time.time() + 60
        vod = None
        while time.time() < deadline and not vod:
            time.sleep(1)
            vod = next((v for v in vods(http) if v["streamId"] == "drift"), None)
        if not vod:
            sys.exit("no VoD")
        path = os.path.join(data, "Drift", vod["filePath"])
        pairs = pair(flashes(path), beeps(path))
        first = [d for t, d in pairs if t < 60]
        last = [d for t, d in pairs if t > args.seconds - 60]
        result = {
            "seconds": args.seconds,
            "vodDurationMs": vod["duration"],
            "pairs": len(pairs),
            "firstMinuteOffsetMs": median(first),
            "lastMinuteOffsetMs": median(last),
            "driftMs": (median(last) - median(first)) if first and last else None,
            "offsetRangeMs": [min(d for _, d in pairs), max(d for _, d in pairs)] if pairs else None,
        }
        print(json.dumps(result, indent=2))
    finally:
        tern.send_signal(signal.SIGTERM)
        tern.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
