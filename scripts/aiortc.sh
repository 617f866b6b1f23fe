#!/usr/bin/env bash
# aiortc (PyPI), a WebRTC stack that is not a browser, against the release
# build: e2e/aiortc/test_aiortc.py. Makes the Python venv it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=e2e/aiortc/.venv
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y python3-venv
fi
if [ ! -x "$venv/bin/python" ] || [ e2e/aiortc/requirements.txt -nt "$venv/bin/python" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r e2e/aiortc/requirements.txt
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider e2e/aiortc "$@"
