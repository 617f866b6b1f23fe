"""A second WebRTC stack against Tern: aiortc speaking the Ant Media WebSocket
protocol (PROTOCOL.md), as a command-line client the tests run as a process
of its own, so that it can be closed, frozen (SIGSTOP) or killed (-9).

    python client.py publish WS_URL STREAM_ID [--codec vp8|h264] [--close-after S]
    python client.py play WS_URL STREAM_ID [--codec vp8|h264]
    python client.py join WS_URL STREAM_ID     (a peer-to-peer peer: signaling only)

Every line on stdout is one JSON event: what the server sent (its `command` or
`definition`) and, while playing, the frames decoded so far.
"""

import argparse
import asyncio
import json
import sys
import time

import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.rtcrtpsender import RTCRtpSender

T0 = time.monotonic()


def emit(event, **fields):
    print(json.dumps({"event": event, "t": round(time.monotonic() - T0, 3), **fields}), flush=True)


def prefer(transceiver, codec):
    """Keep only `codec` (and RTX) among the video codecs this transceiver negotiates."""
    if codec is None:
        return
    caps = RTCRtpSender.getCapabilities("video").codecs
    wanted = [c for c in caps if c.mimeType.lower() in (f"video/{codec}", "video/rtx")]
    transceiver.setCodecPreferences(wanted)


async def send(ws, **msg):
    await ws.send(json.dumps(msg))


async def messages(ws):
    async for raw in ws:
        msg = json.loads(raw)
        emit(msg.get("definition") or msg.get("command"), message=msg)
        yield msg


async def publish(args):
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    video = pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    prefer(video, args.codec)
    async with websockets.connect(args.ws) as ws:
        await send(ws, command="publish", streamId=args.id, video=True, audio=True)
        async for msg in messages(ws):
            command, definition = msg.get("command"), msg.get("definition")
            if command == "start":
                await pc.setLocalDescription(await pc.createOffer())
                await send(ws, command="takeConfiguration", streamId=args.id, type="offer",
                           sdp=pc.localDescription.sdp)
            elif command == "takeConfiguration" and msg.get("type") == "answer":
                await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
            elif definition == "publish_started" and args.close_after is not None:
                await asyncio.sleep(args.close_after)
                # pc.close() with the WebSocket open: RTCP BYE, DTLS close_notify.
                await pc.close()
                emit("closed_peer_connection")
            elif command == "error":
                pass
        emit("socket_closed")


async def play(args):
    pc = RTCPeerConnection()
    counts = {"video": 0, "audio": 0}
    sizes = set()

    async def consume(track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            counts[track.kind] += 1
            if track.kind == "video":
                sizes.add((frame.width, frame.height))

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume(track))

    async def report():
        while True:
            await asyncio.sleep(0.5)
            emit("frames", video=counts["video"], audio=counts["audio"],
                 sizes=sorted(sizes))

    reporter = asyncio.ensure_future(report())
    async with websockets.connect(args.ws) as ws:
        await send(ws, command="play", streamId=args.id)
        async for msg in messages(ws):
            if msg.get("command") == "takeConfiguration" and msg.get("type") == "offer":
                if args.codec and not pc.getTransceivers():
                    # aiortc applies preferences while it reads the offer, so the
                    # transceiver the offer's video m-line takes is made first.
                    prefer(pc.addTransceiver("video", direction="recvonly"), args.codec)
                await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                await send(ws, command="takeConfiguration", streamId=args.id, type="answer",
                           sdp=pc.localDescription.sdp)
    reporter.cancel()
    emit("socket_closed")


async def join(args):
    async with websockets.connect(args.ws) as ws:
        await send(ws, command="join", streamId=args.id, multiPeer=False, mode="both")
        async for _ in messages(ws):
            pass
    emit("socket_closed")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["publish", "play", "join"])
    p.add_argument("ws")
    p.add_argument("id")
    p.add_argument("--codec", choices=["vp8", "h264"])
    p.add_argument("--close-after", type=float)
    args = p.parse_args()
    try:
        run = {"publish": publish, "play": play, "join": join}[args.mode]
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass
    except websockets.ConnectionClosed:
        emit("socket_closed")


if __name__ == "__main__":
    sys.exit(main())
