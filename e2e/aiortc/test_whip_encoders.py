"""Encoders that speak WHIP, publishing through Tern to a player on the
WebSocket protocol (aiortc, client.py) that decodes what they send:
  - GStreamer 1.22's webrtcbin (Debian), VP8+Opus and H.264+Opus (whip_gst.py,
    run by the system python3, which has gi);
  - FFmpeg 8's `whip` muxer as PyPI's `av` wheel bundles it, H.264+Opus
    (whip_ffmpeg.py).
Both get an ECDSA P-256 certificate made here: their own defaults (RSA for
webrtcbin, GnuTLS's for FFmpeg) are refused by str0m's DTLS, as by Chromium's.
The publisher's DELETE ends the stream: the player gets play_finished.
Tern offers candidates on every interface: libnice never uses loopback.
"""

import datetime
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import HERE, Process, clients, run_tern, start  # noqa: F401 (fixtures)

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def tern_any():
    with run_tern("0.0.0.0") as http:
        yield http


@pytest.fixture(scope="module")
def ecdsa(tmp_path_factory):
    """cert.pem, key.pem and both in one file (webrtcbin's form)."""
    d = tmp_path_factory.mktemp("cert")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whip-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (d / "cert.pem").write_bytes(cert_pem)
    (d / "key.pem").write_bytes(key_pem)
    (d / "both.pem").write_bytes(cert_pem + key_pem)
    return d


def decoded_then_finished(clients, tern, app, stream, publisher, ended):
    """A WebSocket player decodes video and audio from the WHIP publisher, and
    gets play_finished when the publisher DELETEs its session (its event
    `ended`)."""
    player = start(clients, tern, "play", app, stream)
    player.wait("play_started", timeout=20)
    player.wait("frames", timeout=20, where=lambda e: e["video"] >= 30 and e["audio"] >= 30)
    player.wait("play_finished", timeout=30)
    deleted = publisher.wait(ended, timeout=30)
    assert deleted.get("status", 200) == 200, deleted
    return player


@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_gstreamer_webrtcbin_publishes_over_whip(tern_any, clients, ecdsa, codec):
    stream = f"gst_{codec}"
    url = f"http://{tern_any}/LiveApp/whip/{stream}"
    pub = Process([SYSTEM_PYTHON, str(HERE / "whip_gst.py"), url, codec, "8", str(ecdsa / "both.pem")])
    clients.append(pub)
    posted = pub.wait("posted", timeout=20)
    assert posted["status"] == 201 and posted["location"].startswith(f"/LiveApp/whip/{stream}/"), posted
    pub.wait("connected", timeout=20)
    decoded_then_finished(clients, tern_any, "LiveApp", stream, pub, "deleted")


def test_ffmpeg_whip_muxer_publishes_h264_and_opus(tern_any, clients, ecdsa):
    stream = "ffmpeg_h264"
    url = f"http://{tern_any}/LiveApp/whip/{stream}"
    pub = Process([sys.executable, str(HERE / "whip_ffmpeg.py"), url, "8",
                   str(ecdsa / "cert.pem"), str(ecdsa / "key.pem")])
    clients.append(pub)
    pub.wait("opened", timeout=20)
    start_at = time.monotonic()
    decoded_then_finished(clients, tern_any, "LiveApp", stream, pub, "closed")
    assert time.monotonic() - start_at < 30
