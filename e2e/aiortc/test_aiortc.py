"""aiortc, a WebRTC stack that is not a browser, publishing and playing through
Tern over the Ant Media WebSocket protocol: VP8 and H.264 decoded, and each way
a peer leaves (README.md, "When a peer leaves") with its notification and timing.

Each client is a process of its own (client.py), so it can close its peer
connection, be frozen with SIGSTOP (its network vanishes, its WebSocket stays
open) or be killed with -9. Tern is the release binary (TERN_BIN, else
target/release/tern), started on free loopback ports.
"""

import re
import signal
import time

import pytest

from harness import WINDOW, clients, live, start, tern, viewers  # noqa: F401 (fixtures)


@pytest.mark.parametrize("app,codec", [("LiveApp", "vp8"), ("H264App", "h264")])
def test_aiortc_publishes_and_plays_with_frames_decoded(tern, clients, app, codec):
    stream = f"aio_{codec}"
    pub, player = live(tern, clients, app, stream, "--codec", codec)
    answer = next(e for e in pub.events if e["event"] == "takeConfiguration")["message"]["sdp"]
    assert re.search(rf"a=rtpmap:\d+ {codec.upper()}/90000", answer), answer
    # Green 640x480 frames, decoded at about the 30 fps they are sent.
    before = player.frames()
    time.sleep(2)
    after = player.frames()
    assert after["video"] - before["video"] >= 40, (before, after)
    assert after["audio"] - before["audio"] >= 60, (before, after)
    assert after["sizes"] == [[640, 480]], after


def test_a_closed_peer_connection_with_the_socket_open_ends_after_the_window(tern, clients):
    pub = start(clients, tern, "publish", "ShortApp", "aio_close", "--close-after", "2")
    pub.wait("publish_started")
    player = start(clients, tern, "play", "ShortApp", "aio_close")
    player.wait("play_started")
    closed = pub.wait("closed_peer_connection", timeout=10)
    finished = player.wait("play_finished", timeout=10)
    took = finished["at"] - closed["at"]
    assert WINDOW - 0.3 <= took <= WINDOW + 1.5, took


def test_a_killed_publisher_ends_after_the_window(tern, clients):
    pub, player = live(tern, clients, "ShortApp", "aio_kill")
    pub.proc.kill()
    t0 = time.monotonic()
    finished = player.wait("play_finished", timeout=10)
    took = finished["at"] - t0
    assert WINDOW - 0.3 <= took <= WINDOW + 1.5, took


def test_a_publisher_whose_network_vanishes_is_noticed_within_5_s(tern, clients):
    pub, player = live(tern, clients, "ShortApp", "aio_stop")
    # Frozen: not one packet more, and its WebSocket stays open.
    pub.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    finished = player.wait("play_finished", timeout=15)
    took = finished["at"] - t0
    assert 4 + WINDOW - 0.3 <= took <= 5 + WINDOW + 1.0, took


def test_a_player_whose_network_vanishes_leaves_the_viewer_count_within_5_s(tern, clients):
    _pub, player = live(tern, clients, "LiveApp", "aio_pstop")
    assert viewers(tern, "LiveApp", "aio_pstop") == 1
    player.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    while viewers(tern, "LiveApp", "aio_pstop") != 0:
        assert time.monotonic() - t0 < 8, "still counted"
        time.sleep(0.1)
    # 4 s after its last datagram, which may have left up to a second or so
    # before it froze (RTCP and consent checks are periodic).
    assert time.monotonic() - t0 >= 2.0


def test_a_player_that_takes_no_codec_of_the_stream_gets_an_error_and_no_video(tern, clients):
    pub = start(clients, tern, "publish", "LiveApp", "aio_codec", "--codec", "vp8")
    pub.wait("publish_started")
    player = start(clients, tern, "play", "LiveApp", "aio_codec", "--codec", "h264")
    error = player.wait("notSetRemoteDescription")
    info = error["message"].get("information", "")
    assert "no codec" in info and "VP8" in info, error
    time.sleep(1)
    assert player.frames()["video"] == 0
