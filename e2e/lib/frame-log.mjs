// A fine-grained record of what a player page decodes (every 50 ms, kept in the page), for measuring how
// long video stops when the publisher's connection drops and comes back; and a record of every frame a
// <video> presents, for gaps and sizes across simulcast layer switches.

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

/**
 * Start recording every frame the page's <video> presents (requestVideoFrameCallback) into window.videoFrames
 * as {t (ms since epoch), w, h}. Unlike the stats log above it sees frames whichever RTP stream brought them,
 * and their size as shown, so it measures switches between simulcast layers too.
 * @param {{page: import('playwright-core').Page}} p
 * @param {string} [selector] the <video> element
 */
export function startVideoFrameLog(p, selector = 'video') {
  return p.page.evaluate((sel) => {
    const video = /** @type {HTMLVideoElement | null} */ (document.querySelector(sel));
    if (!video || typeof video.requestVideoFrameCallback !== 'function') throw new Error(`no <video> ${sel} with requestVideoFrameCallback`);
    window.videoFrames = [];
    const onFrame = (_now, meta) => {
      window.videoFrames.push({ t: Date.now(), w: meta.width, h: meta.height });
      if (window.videoFrames.length < 50_000) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }, selector);
}

export function readVideoFrameLog(p) {
  return p.page.evaluate(() => (window.videoFrames || []).slice());
}

/**
 * The longest stretch between `from` and `to` (ms since epoch) without a presented frame, from a
 * startVideoFrameLog record: {gapMs, after, before, frames} (after/before: the frames around the gap, null at
 * the edges; frames: how many were presented in the interval). With no frame at all the gap is the interval.
 */
export function longestFrameGap(frames, from, to = Date.now()) {
  const inside = frames.filter((f) => f.t >= from && f.t <= to);
  let best = { gapMs: -1, after: null, before: null };
  let prev = null;
  for (const f of inside.concat([null])) {
    const start = prev ? prev.t : from;
    const end = f ? f.t : to;
    if (end - start > best.gapMs) best = { gapMs: end - start, after: prev, before: f };
    if (f) prev = f;
  }
  return { ...best, frames: inside.length };
}

/** Heights shown in a startVideoFrameLog record, each with when it began: [{h, from, frames}]. */
export function heightRuns(frames) {
  const runs = [];
  for (const f of frames) {
    const last = runs[runs.length - 1];
    if (last && last.h === f.h) last.frames += 1;
    else runs.push({ h: f.h, from: f.t, frames: 1 });
  }
  return runs;
}
