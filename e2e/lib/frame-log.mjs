// A fine-grained record of what a player page decodes (every 50 ms, kept in the page), for measuring how
// long video stops when the publisher's connection drops and comes back.

/** Start sampling the page's inbound video stats (window.readStats) every `intervalMs` into window.frameLog. */
export function startFrameLog(p, intervalMs = 50) {
  return p.page.evaluate((ms) => {
    window.frameLog = [];
    const tick = async () => {
      let s = null;
      try { s = await window.readStats(); } catch { s = null; }
      const v = s && s.video;
      const row = { t: Date.now(), f: v ? v.framesDecoded : null, k: v ? v.keyFramesDecoded : null, p: v ? v.packetsReceived : null };
      // RTP timestamp and SSRC of the newest packet per kind, where the page exposes its adaptor (play.html).
      try {
        const pc = window.adaptor && window.adaptor.remotePeerConnection && window.adaptor.remotePeerConnection[window.streamId];
        for (const r of pc ? pc.getReceivers() : []) {
          const src = r.track ? r.getSynchronizationSources()[0] : null;
          if (src && src.rtpTimestamp != null) row[r.track.kind] = { ssrc: src.source, ts: src.rtpTimestamp, at: src.timestamp };
        }
      } catch { /* not available */ }
      window.frameLog.push(row);
      if (window.frameLog.length < 20000) setTimeout(tick, ms);
    };
    tick();
  }, intervalMs);
}

export function readFrameLog(p) {
  return p.page.evaluate(() => (window.frameLog || []).slice());
}

/**
 * From a frame log and the moment of a drop (ms since epoch, same clock as the page on this machine): the
 * longest stretch after the drop during which no frame was decoded, and when decoding resumed after it.
 * A stretch still open at the end of the log counts too: if it is the longest, decoding has not resumed.
 * Returns {stallMs, lastFrameBeforeStallAt, resumedAt, dropToResumeMs, keyFramesAfterDrop, packetsAfterDrop,
 * framesAfterDrop} (times in ms since epoch; resumedAt and dropToResumeMs null when video has not resumed, and
 * stallMs is then the open stretch so far).
 */
export function analyseStall(log, dropAt) {
  // Moments at which framesDecoded grew.
  const grew = [];
  for (let i = 1; i < log.length; i++) {
    if (log[i].f != null && log[i - 1].f != null && log[i].f > log[i - 1].f) grew.push(log[i].t);
  }
  const end = log.length ? log[log.length - 1].t : dropAt;
  const lastBefore = [...grew].reverse().find((t) => t <= dropAt) ?? dropAt;
  let best = { from: lastBefore, to: null, len: -1 };
  let prev = lastBefore;
  for (const t of grew.filter((x) => x > dropAt).concat([null])) {
    const len = (t ?? end) - prev;
    if (len > best.len) best = { from: prev, to: t, len };
    if (t != null) prev = t;
  }
  const at = (t) => log.filter((s) => s.t <= t && s.f != null).pop() ?? { f: 0, k: 0, p: 0 };
  const atDrop = at(dropAt);
  const last = at(end);
  return {
    stallMs: best.len,
    lastFrameBeforeStallAt: best.from,
    resumedAt: best.to,
    dropToResumeMs: best.to == null ? null : best.to - dropAt,
    keyFramesAfterDrop: (last.k ?? 0) - (atDrop.k ?? 0),
    packetsAfterDrop: (last.p ?? 0) - (atDrop.p ?? 0),
    framesAfterDrop: (last.f ?? 0) - (atDrop.f ?? 0),
  };
}

/**
 * Wait (bounded) until the page decodes video again after `dropAt` and has kept decoding for `steadyMs`;
 * resolves with analyseStall's figures, or throws with them (packets received but no frames decoded is
 * a player that never got a decodable keyframe).
 */
export async function waitForVideoAgain(p, dropAt, { timeoutMs = 10_000, steadyMs = 300 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = analyseStall(await readFrameLog(p), dropAt);
    if (s.resumedAt != null && Date.now() - s.resumedAt > steadyMs) return s;
    if (Date.now() > deadline) {
      throw new Error(`${p.label}: video did not resume within ${timeoutMs} ms of waiting (${Date.now() - dropAt} ms after the drop): ${JSON.stringify(s)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Whether the RTP timestamps a player receives stay continuous across a drop: compares the newest packet's
 * RTP timestamp (per kind, from getSynchronizationSources) just before `dropAt` with the last one in the log.
 * When the SSRC is the same, the timestamp should have advanced by about the wall-clock time between the two
 * packets; `deviationMs` is how far off it is (a source switched without rewriting jumps by hours). A new SSRC
 * is a new stream to the receiver: `sameSsrc` false, no deviation.
 * @param {'video'|'audio'} kind
 */
export function rtpContinuity(log, dropAt, kind = 'video') {
  const clock = kind === 'video' ? 90 : 48; // ticks per ms (VP8/H.264 90 kHz, Opus 48 kHz)
  const before = log.filter((s) => s.t <= dropAt && s[kind]).pop()?.[kind];
  const after = log.filter((s) => s[kind]).pop()?.[kind];
  if (!before || !after) return { kind, available: false };
  if (before.ssrc !== after.ssrc) return { kind, available: true, sameSsrc: false, before, after };
  const ticks = (after.ts - before.ts) << 0; // signed 32-bit difference (wraps)
  const elapsedMs = after.at - before.at;
  return { kind, available: true, sameSsrc: true, before, after, advanceMs: ticks / clock, elapsedMs, deviationMs: Math.round(ticks / clock - elapsedMs) };
}
