"""A WHIP publisher made of FFmpeg 8's `whip` muxer, as PyPI's `av` wheel
bundles it: H.264 (libx264, no B-frames) and Opus, encoded from synthetic
pictures and a tone in real time.

    python whip_ffmpeg.py URL SECONDS CERT KEY

CERT/KEY are an ECDSA P-256 certificate and key in PEM: the wheel's FFmpeg is
built with GnuTLS, whose own DTLS certificate BoringSSL-family stacks (and
str0m's) refuse. Prints one JSON line per event (opened, sent, closed, error).
Closing the muxer DELETEs the session.
"""

import json
import math
import sys
import time
from fractions import Fraction

import av


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main():
    url, seconds, cert, key = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    try:
        out = av.open(url, mode="w", format="whip",
                      options={"cert_file": cert, "key_file": key, "handshake_timeout": "10000"})
    except Exception as e:  # noqa: BLE001 - reported to the test as it is
        emit("error", why=f"open: {e}")
        sys.exit(1)
    video = out.add_stream("libx264", rate=30)
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    video.options = {"tune": "zerolatency", "preset": "ultrafast", "bf": "0", "g": "30",
                     "profile": "baseline"}
    audio = out.add_stream("libopus", rate=48000)
    audio.layout = "stereo"
    emit("opened")
    start = time.monotonic()
    n = 0
    samples = 0
    try:
        while time.monotonic() - start < seconds:
            frame = av.VideoFrame(320, 240, "yuv420p")
            shade = (n * 4) % 256
            for i, plane in enumerate(frame.planes):
                plane.update(bytes([shade if i == 0 else 128]) * plane.buffer_size)
            frame.pts, frame.time_base = n, Fraction(1, 30)
            for p in video.encode(frame):
                out.mux(p)
            while samples < (n + 1) * 1600:
                tone = bytes(b for s in range(960)
                             for b in int(3000 * math.sin(2 * math.pi * 440 * (samples + s) / 48000))
                             .to_bytes(2, "little", signed=True) * 2)
                af = av.AudioFrame(format="s16", layout="stereo", samples=960)
                af.planes[0].update(tone)
                af.sample_rate, af.pts, af.time_base = 48000, samples, Fraction(1, 48000)
                for p in audio.encode(af):
                    out.mux(p)
                samples += 960
            n += 1
            if n % 30 == 0:
                emit("sent", frames=n)
            time.sleep(max(0.0, start + n / 30 - time.monotonic()))
        out.close()
        emit("closed")
    except Exception as e:  # noqa: BLE001
        emit("error", why=str(e))
        sys.exit(1)


if __name__ == "__main__":
    main()
