// Assertions and bounded waits on pages that receive several participants on one RTCPeerConnection
// (conference.html): per-track figures keyed by the SDK's idMapping (mid -> "ARDAMSv<participant>").
import assert from 'node:assert/strict';
import { sleep, waitUntil } from './poll.mjs';

/** Per-m-line inbound figures and transceiver states of the page's room peer connection (pages/peer-tools.js). */
export function trackStats(p) {
  return p.page.evaluate(() => window.trackStats());
}

/** Inbound entry of `kind` ('video'|'audio') whose idMapping name is ARDAMS{v|a}<participant>, or undefined. */
export function inboundOf(stats, participant, kind = 'video') {
  const want = `ARDAMS${kind === 'video' ? 'v' : 'a'}${participant}`;
  return stats?.inbound?.find((r) => r.kind === kind && r.trackId === want);
}

/** Short readable form of per-track stats for messages. */
export function describeTracks(stats) {
  if (!stats) return 'no peer connection';
  return stats.inbound.map((r) => `${r.kind} mid=${r.mid} ${r.trackId ?? '(unmapped)'} frames=${r.framesDecoded} pkts=${r.packetsReceived}`)
    .join('; ') + ` | transceivers: ${stats.transceivers.map((t) => `${t.mid}:${t.trackId ?? '-'}:${t.currentDirection}:${t.trackState}`).join(' ')}`;
}

/** Wait (bounded) until the page decodes video from every participant in `ids`. */
export function waitForRemoteVideos(p, ids, timeoutMs = 20_000) {
  let last = null;
  return waitUntil(async () => {
    last = await trackStats(p);
    return ids.every((id) => (inboundOf(last, id, 'video')?.framesDecoded ?? 0) > 0) ? last : null;
  }, { timeoutMs, intervalMs: 150, what: `${p.label}: decoded video from ${ids.join(', ')}` })
    .catch((e) => { throw new Error(`${e.message}\n  ${p.label} tracks: ${describeTracks(last)}`); });
}

/**
 * Two samples `gapMs` apart: video from every participant in `flowing` keeps decoding (and its audio keeps
 * arriving unless `audio` is false); video (and, unless `audio` is false, audio) from every participant in
 * `stalled` does not grow, where the page still has such a track.
 */
export async function assertRemoteTracks(p, { flowing = [], stalled = [], gapMs = 1500, audio = true } = {}) {
  const a = await trackStats(p);
  const t0 = Date.now();
  await sleep(gapMs);
  const b = await trackStats(p);
  const elapsed = Date.now() - t0;
  assert.ok(a && b, `${p.label}: no room peer connection`);
  for (const id of flowing) {
    const va = inboundOf(a, id, 'video');
    const vb = inboundOf(b, id, 'video');
    assert.ok(va && vb, `${p.label}: no inbound video mapped to ARDAMSv${id}: ${describeTracks(b)}`);
    assert.ok(vb.framesDecoded > va.framesDecoded,
      `${p.label}: video of ${id} did not keep decoding over ${elapsed} ms: ${va.framesDecoded} -> ${vb.framesDecoded}`);
    assert.ok(vb.frameHeight > 0, `${p.label}: video of ${id} has frameHeight ${vb.frameHeight}`);
    if (audio) {
      const aa = inboundOf(a, id, 'audio');
      const ab = inboundOf(b, id, 'audio');
      assert.ok(aa && ab, `${p.label}: no inbound audio mapped to ARDAMSa${id}: ${describeTracks(b)}`);
      assert.ok(ab.packetsReceived > aa.packetsReceived,
        `${p.label}: audio of ${id} stopped over ${elapsed} ms: ${aa.packetsReceived} -> ${ab.packetsReceived} packets`);
    }
  }
  for (const id of stalled) {
    const va = inboundOf(a, id, 'video');
    const vb = inboundOf(b, id, 'video');
    if (va && vb) {
      assert.equal(vb.framesDecoded, va.framesDecoded,
        `${p.label}: video of ${id} still decoding over ${elapsed} ms: ${va.framesDecoded} -> ${vb.framesDecoded}`);
    }
    const aa = inboundOf(a, id, 'audio');
    const ab = inboundOf(b, id, 'audio');
    if (audio && aa && ab) {
      assert.equal(ab.packetsReceived, aa.packetsReceived,
        `${p.label}: audio of ${id} still arriving over ${elapsed} ms: ${aa.packetsReceived} -> ${ab.packetsReceived} packets`);
    }
  }
  return { before: a, after: b, elapsedMs: elapsed };
}

/** Every takeConfiguration offer the page received for `streamId`, in order (from the recorded frames). */
export function offersFor(p, streamId) {
  return p.signaling()
    .filter((f) => f.dir === 'recv' && f.msg?.command === 'takeConfiguration' && f.msg?.type === 'offer' && f.msg?.streamId === streamId)
    .map((f) => f.msg);
}

/** Text messages of the page's data channels (pages/peer-tools.js window.received). */
export function received(p) {
  return p.page.evaluate(() => window.received.slice());
}
