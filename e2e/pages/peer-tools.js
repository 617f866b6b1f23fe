// Shared by conference.html, p2p.html, datachannel.html and raw.html (loaded after common.js): per-track
// RTCPeerConnection figures keyed by the SDK's idMapping, remote-track lifecycle records, data-channel
// payload records (text and binary, binary kept as hex), and first-decoded-frame times per track.
// Everything it exposes lives on window.PeerTools.
(function () {
  'use strict';

  function toHex(buf) {
    const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < u8.length; i++) s += (u8[i] < 16 ? '0' : '') + u8[i].toString(16);
    return s;
  }

  function fromHex(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  // Every data_received payload, in arrival order: {t, streamId, binary, text | hex, bytes}.
  window.received = [];
  function recordData(obj) {
    if (!obj) return;
    const d = obj.data;
    if (typeof d === 'string' || d instanceof String) {
      window.received.push({ t: performance.now(), streamId: obj.streamId, binary: false, text: String(d) });
    } else if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) {
      const u8 = d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      window.received.push({ t: performance.now(), streamId: obj.streamId, binary: true, bytes: u8.length, hex: toHex(u8) });
    } else {
      window.received.push({ t: performance.now(), streamId: obj.streamId, binary: null, text: String(d) });
    }
  }

  // Lifecycle of every remote track handed over by newTrackAvailable: {t, trackId, kind, ev}.
  window.trackEvents = [];
  window.remoteTracks = [];
  function watchTrack(obj) {
    const track = obj.track;
    const trackId = obj.trackId == null ? null : String(obj.trackId);
    const rec = (ev) => window.trackEvents.push({ t: performance.now(), trackId, kind: track.kind, ev });
    window.remoteTracks.push({ t: performance.now(), trackId, kind: track.kind, id: track.id, streamId: obj.streamId });
    track.addEventListener('ended', () => rec('ended'));
    track.addEventListener('mute', () => rec('mute'));
    track.addEventListener('unmute', () => rec('unmute'));
    if (obj.stream && !obj.stream.__watched) {
      obj.stream.__watched = true;
      obj.stream.addEventListener('removetrack', (e) => window.trackEvents.push({
        t: performance.now(), trackId: e.track ? e.track.id : null, kind: e.track ? e.track.kind : null, ev: 'removetrack',
      }));
    }
  }

  // Inbound RTP per m-line of `pc`, named through `mapping` (mid -> "ARDAMSv<id>"), plus each transceiver's state.
  async function perTrack(pc, mapping) {
    if (!pc) return null;
    mapping = mapping || {};
    const report = await pc.getStats();
    const inbound = [];
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      inbound.push({
        kind: s.kind,
        mid: s.mid == null ? null : String(s.mid),
        trackId: s.mid != null && mapping[s.mid] != null ? mapping[s.mid] : null,
        trackIdentifier: s.trackIdentifier ?? null,
        framesDecoded: s.framesDecoded ?? 0,
        frameHeight: s.frameHeight ?? 0,
        packetsReceived: s.packetsReceived ?? 0,
        totalSamplesReceived: s.totalSamplesReceived ?? 0,
        ssrc: s.ssrc,
      });
    });
    const transceivers = pc.getTransceivers().map((tr) => ({
      mid: tr.mid,
      trackId: tr.mid != null && mapping[tr.mid] != null ? mapping[tr.mid] : null,
      kind: tr.receiver.track ? tr.receiver.track.kind : null,
      direction: tr.direction,
      currentDirection: tr.currentDirection,
      trackState: tr.receiver.track ? tr.receiver.track.readyState : null,
      trackMuted: tr.receiver.track ? tr.receiver.track.muted : null,
      receiverTrackId: tr.receiver.track ? tr.receiver.track.id : null,
    }));
    return {
      inbound,
      transceivers,
      mapping,
      iceState: pc.iceConnectionState,
      connectionState: pc.connectionState,
      signalingState: pc.signalingState,
    };
  }

  // Poll `getPc()` every `intervalMs` and note the first time each mapped video track decodes a frame:
  // window.firstDecoded[trackId] = performance.now(). Stops after `maxMs` or on window.stopFirstDecodedWatch().
  window.firstDecoded = {};
  let watchStopped = false;
  window.stopFirstDecodedWatch = () => { watchStopped = true; };
  function watchFirstDecoded(getPc, getMapping, { intervalMs = 50, maxMs = 120000 } = {}) {
    const until = performance.now() + maxMs;
    const poll = async () => {
      if (watchStopped || performance.now() > until) return;
      try {
        const s = await perTrack(getPc(), getMapping());
        if (s) {
          for (const r of s.inbound) {
            if (r.kind === 'video' && r.trackId && r.framesDecoded > 0 && window.firstDecoded[r.trackId] == null) {
              window.firstDecoded[r.trackId] = performance.now();
            }
          }
        }
      } catch (e) { /* the pc may be closing */ }
      setTimeout(poll, intervalMs);
    };
    setTimeout(poll, intervalMs);
  }

  window.PeerTools = { toHex, fromHex, recordData, watchTrack, perTrack, watchFirstDecoded };
})();
