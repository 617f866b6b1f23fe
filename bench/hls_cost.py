#!/usr/bin/env python3
"""CPU and memory of HLS and of recording per stream (issue #17), with H.264
sources: N RTMP pushes (Debian's ffmpeg, `-c copy` of one pre-encoded file:
1.5 Mbit/s 640x360 30 fps H.264 with a keyframe every 2 s and 96 kbit/s AAC,
so the encoders cost little) into an app that does neither, one that records
(mp4MuxingEnabled) and one that serves HLS (hlsMuxingEnabled), one Tern per
run, same load. Prints Tern's CPU (% of one core) and RSS for each, and what
one recorded or HLS stream adds, for N = 1, 10, 50; checks that every stream
has its playlist or its VoD.

  cargo build --release -p tern-server
  python3 bench/hls_cost.py [--streams 1,10,50] [--seconds 15]
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN = os.environ.get("TERN_BIN", os.path.join(ROOT, "target/release/tern"))
CONFIG = """sockets_per_ip = 100000
new_sockets_per_second = 100000
[apps.Plain]
[apps.Rec]
mp4MuxingEnabled = true
[apps.Hls]
hlsMuxingEnabled = true
"""
TICK = os.sysconf("SC_CLK_TCK")


def start_tern(data_dir):
    cfg = os.path.join(data_dir, "tern.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    p = subprocess.Popen(
        [TERN, "--config", cfg, "--data-dir", data_dir, "--http-addr", "127.0.0.1:0",
         "--media-addr", "127.0.0.1:0", "--turn-addr", "", "--srt-addr", "",
         "--rtmp-addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=open(os.path.join(data_dir, "tern.log"), "w"), text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"http=127\.0\.0\.1:(\d+).* rtmp=127\.0\.0\.1:(\d+)", p.stdout.readline())
        if m:
            return p, int(m.group(1)), int(m.group(2))
    p.kill()
    sys.exit("tern did not start")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+)", f.read())
    return int(m.group(1)) / 1024


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def run(app, n, seconds, source):
    data = tempfile.mkdtemp(prefix="tern-hls-cost-")
    tern, http, rtmp = start_tern(data)
    pushes = []
    try:
        for k in range(n):
            pushes.append(subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                 "-i", source, "-c", "copy", "-f", "flv", f"rtmp://127.0.0.1:{rtmp}/{app}/s{k}"],
                stdin=subprocess.DEVNULL))
        time.sleep(6)
        c0, t0 = cpu_seconds(tern.pid), time.time()
        time.sleep(seconds)
        cpu = (cpu_seconds(tern.pid) - c0) / (time.time() - t0) * 100
        rss = rss_mib(tern.pid)
        alive = sum(p.poll() is None for p in pushes)
        served = None
        if app == "Hls":
            served = sum(get(f"http://127.0.0.1:{http}/Hls/streams/s{k}.m3u8")[0] == 200 for k in range(n))
        for p in pushes:
            p.send_signal(signal.SIGINT)
        for p in pushes:
            p.wait(timeout=20)
        if app == "Rec":
            deadline = time.time() + 60
            while time.time() < deadline:
                _, body = get(f"http://127.0.0.1:{http}/Rec/rest/v2/vods/count")
                served = json.loads(body or b"{}").get("number", 0)
                if served >= n:
                    break
                time.sleep(1)
        return {"app": app, "streams": n, "pushing": alive, "served": served,
                "corePercent": round(cpu, 2), "rssMiB": round(rss, 1)}
    finally:
        for p in pushes:
            if p.poll() is None:
                p.kill()
        tern.send_signal(signal.SIGTERM)
        tern.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="1,10,50")
    ap.add_argument("--seconds", type=int, default=15)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tern-hls-src-")
    source = os.path.join(work, "src.flv")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20", "-c:v", "libx264",
         "-preset", "veryfast", "-bf", "0", "-g", "60", "-b:v", "1500k", "-maxrate", "1500k",
         "-bufsize", "1500k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-f", "flv", source],
        check=True)
    rows = []
    for n in [int(x) for x in args.streams.split(",")]:
        plain = run("Plain", n, args.seconds, source)
        rec = run("Rec", n, args.seconds, source)
        hls = run("Hls", n, args.seconds, source)
        for r in (plain, rec, hls):
            print(json.dumps(r), flush=True)
        rows.append({
            "streams": n,
            "recordCpuPerStream": round((rec["corePercent"] - plain["corePercent"]) / n, 3),
            "recordRssPerStreamMiB": round((rec["rssMiB"] - plain["rssMiB"]) / n, 2),
            "hlsCpuPerStream": round((hls["corePercent"] - plain["corePercent"]) / n, 3),
            "hlsRssPerStreamMiB": round((hls["rssMiB"] - plain["rssMiB"]) / n, 2),
        })
    print(json.dumps(rows, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
