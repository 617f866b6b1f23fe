// Assertions on what a player page decodes, from its RTCPeerConnection stats.
import assert from 'node:assert/strict';
import { sleep, waitUntil } from './poll.mjs';

/** Wait (bounded) until the player has decoded at least one video frame; returns those stats. */
export function waitForFirstFrame(player, timeoutMs = 15_000) {
  return waitUntil(async () => {
    const s = await player.stats();
    return s && s.video && s.video.framesDecoded > 0 ? s : null;
  }, { timeoutMs, intervalMs: 100, what: `${player.label}: first decoded video frame` });
}

/**
 * Take two stats samples at least `gapMs` apart and assert that video keeps decoding (framesDecoded grows,
 * frameHeight > 0) and, unless `audio` is false, that audio keeps arriving (packetsReceived and
 * totalSamplesReceived grow). Returns both samples.
 */
export async function assertMediaFlowing(player, { gapMs = 1200, audio = true } = {}) {
  let a = await player.stats();
  // The first frame can come before the first audio packet of a publisher that has just started:
  // the first sample waits (up to 3 s) for audio to have arrived at all.
  for (const until = Date.now() + 3000; audio && !a?.audio && Date.now() < until;) {
    await sleep(100);
    a = await player.stats();
  }
  const t0 = Date.now();
  await sleep(gapMs);
  const b = await player.stats();
  const elapsed = Date.now() - t0;
  const who = player.label;
  assert.ok(a && b, `${who}: no RTCPeerConnection for the stream (stats ${JSON.stringify(a)} / ${JSON.stringify(b)})`);
  assert.ok(a.video && b.video, `${who}: no inbound-rtp video stats: ${JSON.stringify(b)}`);
  assert.ok(elapsed >= 1000, `${who}: samples only ${elapsed} ms apart`);
  assert.ok(b.video.framesDecoded > a.video.framesDecoded,
    `${who}: framesDecoded did not grow over ${elapsed} ms: ${a.video.framesDecoded} -> ${b.video.framesDecoded}`);
  assert.ok(b.video.frameHeight > 0, `${who}: frameHeight is ${b.video.frameHeight}`);
  if (audio) {
    assert.ok(a.audio && b.audio, `${who}: no inbound-rtp audio stats: ${JSON.stringify(b)}`);
    assert.ok(b.audio.packetsReceived > a.audio.packetsReceived,
      `${who}: audio packetsReceived did not grow over ${elapsed} ms: ${a.audio.packetsReceived} -> ${b.audio.packetsReceived}`);
    assert.ok(b.audio.totalSamplesReceived > a.audio.totalSamplesReceived,
      `${who}: audio totalSamplesReceived did not grow over ${elapsed} ms: ${a.audio.totalSamplesReceived} -> ${b.audio.totalSamplesReceived}`);
  }
  return { before: a, after: b, elapsedMs: elapsed };
}

/**
 * The selected ICE candidate pair of an official-SDK player's connection (window.adaptor, window.streamId):
 * {address, port, protocol} of the remote candidate and the local candidate's protocol, or null.
 */
export function selectedPair(p, { adaptor = null, streamId = null } = {}) {
  return p.page.evaluate(async ([name, id]) => {
    const a = name ? window.adaptors[name] : window.adaptor;
    const pc = a?.remotePeerConnection[id ?? window.streamId];
    if (!pc) return null;
    const report = await pc.getStats();
    let pairId = null;
    report.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    const pair = pairId ? report.get(pairId) : null;
    const remote = pair ? report.get(pair.remoteCandidateId) : null;
    const local = pair ? report.get(pair.localCandidateId) : null;
    return remote ? {
      address: remote.address,
      port: remote.port,
      protocol: remote.protocol,
      localProtocol: local?.protocol,
      // 'relay' through a TURN server, with the client's transport to it: udp, tcp or tls.
      localType: local?.candidateType,
      relayProtocol: local?.relayProtocol,
    } : null;
  }, [adaptor, streamId]);
}
