#!/usr/bin/env bash
# The Python clients against the release build: aiortc (PyPI), a WebRTC stack
# that is not a browser (e2e/aiortc/test_aiortc.py), and the WHIP encoders
# GStreamer and FFmpeg (test_whip_encoders.py). Makes the venv it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=e2e/aiortc/.venv
# The marker is written only after a complete install, so a broken one is made again.
if [ ! -f "$venv/.installed" ] || [ e2e/aiortc/requirements.txt -nt "$venv/.installed" ]; then
  rm -rf "$venv"
  # Debian's python3 makes venvs only with python3-venv installed.
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q -r e2e/aiortc/requirements.txt
  touch "$venv/.installed"
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider e2e/aiortc "$@"
