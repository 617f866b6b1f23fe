"""A WHIP publisher made of GStreamer's webrtcbin (Debian's GStreamer 1.22),
driven from Python through gi: test sources encoded to VP8 or H.264 with
Opus, one offer POSTed to a WHIP endpoint, the answer applied. Run with the
system python3 (it has gi), not a venv:

    python3 whip_gst.py URL vp8|h264 SECONDS PEM [TOKEN]

PEM holds an ECDSA P-256 certificate and its key: webrtcbin makes an RSA one by
default, and str0m's DTLS (like BoringSSL-family stacks) takes only ECDSA. The
certificate is handed to webrtcbin's dtlsdec as it is made; webrtcbin's offer
still names its own certificate's fingerprint, so the offer sent names ours.

It prints one JSON line per event (posted, connected, deleted, error) and, after
SECONDS of media, DELETEs its session and exits 0. (Debian's own
simple-whip-client cannot be used: it aborts at start, loading libsoup 2 and 3.)
"""

import hashlib
import json
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO = {
    "vp8": "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! "
           "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    "h264": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bframes=0 ! "
            "video/x-h264,profile=constrained-baseline ! "
            "rtph264pay config-interval=-1 aggregate-mode=zero-latency pt=102 ! "
            "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000",
}


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def fingerprint(pem):
    der = ssl.PEM_cert_to_DER_cert(pem[: pem.index("-----END CERTIFICATE-----") + 25])
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def main():
    url, codec, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pem = open(sys.argv[4]).read()
    token = sys.argv[5] if len(sys.argv) > 5 else None
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "webrtcbin name=w bundle-policy=max-bundle "
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
        f"videoconvert ! queue ! {VIDEO[codec]} ! w. "
        "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! "
        "rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! w."
    )
    webrtc = pipeline.get_by_name("w")
    loop = GLib.MainLoop()
    state = {"location": None}

    def fail(why):
        emit("error", why=why)
        loop.quit()
        state["failed"] = True

    def post(offer_sdp):
        req = urllib.request.Request(url, data=offer_sdp.encode(), method="POST",
                                     headers={"Content-Type": "application/sdp"})
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                status, answer = r.status, r.read().decode()
                location = r.headers.get("Location")
        except urllib.error.HTTPError as e:
            return fail(f"POST: {e.code} {e.read().decode().strip()}")
        if not location:
            return fail("no Location in the 201")
        state["location"] = urllib.parse.urljoin(url, location)
        emit("posted", status=status, location=location)
        _, sdp = GstSdp.SDPMessage.new_from_text(answer)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        webrtc.emit("set-remote-description", desc, Gst.Promise.new())

    def on_gathering(element, _pspec):
        if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE \
                and "posted" not in state:
            state["posted"] = True
            sdp = element.get_property("local-description").sdp.as_text()
            post(re.sub(r"a=fingerprint:\S+ \S+", f"a=fingerprint:sha-256 {fingerprint(pem)}", sdp))

    def on_offer(promise, element, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        if offer is None:
            # An early negotiation-needed, before every pad is linked: a later one offers.
            return emit("offer_failed", reply=reply.to_string())
        element.emit("set-local-description", offer, Gst.Promise.new())

    def on_negotiation_needed(element):
        promise = Gst.Promise.new_with_change_func(on_offer, element, None)
        element.emit("create-offer", None, promise)

    def on_ice_state(element, _pspec):
        s = element.get_property("ice-connection-state")
        if s in (GstWebRTC.WebRTCICEConnectionState.CONNECTED, GstWebRTC.WebRTCICEConnectionState.COMPLETED):
            if "connected" not in state:
                state["connected"] = True
                emit("connected")
        elif s == GstWebRTC.WebRTCICEConnectionState.FAILED:
            fail("ICE failed")

    def on_bus(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            fail(f"{err.message} {dbg}")
        return True

    def finish():
        if state["location"]:
            req = urllib.request.Request(state["location"], method="DELETE")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    emit("deleted", status=r.status)
            except urllib.error.HTTPError as e:
                emit("deleted", status=e.code)
        loop.quit()
        return False

    def on_element(_bin, _sub, element):
        factory = element.get_factory()
        if factory is not None and factory.get_name() == "dtlsdec":
            element.set_property("pem", pem)

    pipeline.connect("deep-element-added", on_element)
    webrtc.connect("on-negotiation-needed", on_negotiation_needed)
    webrtc.connect("notify::ice-gathering-state", on_gathering)
    webrtc.connect("notify::ice-connection-state", on_ice_state)
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_bus)
    pipeline.set_state(Gst.State.PLAYING)
    # A publisher only sends.
    for i in range(2):
        t = webrtc.emit("get-transceiver", i)
        if t is not None:
            t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
    GLib.timeout_add(int(seconds * 1000), finish)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    sys.exit(1 if state.get("failed") else 0)


if __name__ == "__main__":
    main()
