// Simulcast from a page's point of view: the layers a publisher on Tern's SDK offers, the layers
// getStreamInfo lists, the layer a player is told it gets (resolutionChangeInfo) and the height its
// <video> shows. Players are pages/play.html (the official SDK: window.adaptor, window.videoElementState).
import assert from 'node:assert/strict';
import { sleep } from './poll.mjs';

/** The camera size at which Chromium sends all three default layers (320x180, 640x360, 1280x720). */
export const HD = { width: 1280, height: 720 };

/**
 * On a Tern SDK harness page (pages/tern-sdk.html): adaptor "pub" with simulcast and a 1280x720 camera
 * publishes `id`. Checks that the camera gives 1280x720 and that the offer carries the three RID layers.
 * @param {any} p a participant from openTernPage / env.open
 * @param {string} id
 */
export async function publishSimulcast(p, id) {
  await p.make('pub', { simulcast: true, mediaConstraints: { video: { ...HD }, audio: true } });
  await p.waitFor('pub', 'initialized');
  const settings = await p.page.evaluate(() => window.adaptors.pub.localStream?.getVideoTracks()[0]?.getSettings() ?? null);
  assert.deepEqual([settings?.width, settings?.height], [HD.width, HD.height], `publisher's camera: ${JSON.stringify(settings)}`);
  await p.call('pub', 'publish', id);
  await p.waitFor('pub', 'publish_started', { match: (d) => d?.streamId === id, timeoutMs: 15_000 });
  assertSimulcastOffer(p, ['q', 'h', 'f']);
}

/** The video m-section of the first offer a page sent (takeConfiguration), or null. */
export function offeredVideoSection(p) {
  const offer = p.signaling().find((f) => f.dir === 'sent' && f.msg?.command === 'takeConfiguration' && f.msg.type === 'offer');
  if (!offer) return null;
  return offer.msg.sdp.split(/\r?\n(?=m=)/).find((s) => s.startsWith('m=video')) ?? null;
}

/** Assert that the page's offer sends video as the RID layers `rids`, in that order. */
export function assertSimulcastOffer(p, rids) {
  const video = offeredVideoSection(p);
  assert.ok(video, `${p.label}: no offer with a video section was sent`);
  const lines = video.split(/\r?\n/);
  const simulcast = lines.filter((l) => l.startsWith('a=simulcast:'));
  const ridLines = lines.filter((l) => l.startsWith('a=rid:'));
  assert.deepEqual(simulcast, [`a=simulcast:send ${rids.join(';')}`], `${p.label}: a=simulcast of the offer; video section:\n${video}`);
  assert.deepEqual(ridLines.map((l) => l.split(' ').slice(0, 2).join(' ')), rids.map((r) => `a=rid:${r} send`),
    `${p.label}: a=rid lines of the offer; video section:\n${video}`);
}

/**
 * What a Tern SDK publisher's connection for `id` sends as video, one entry per RTP stream (RID layer) from its
 * outbound-rtp stats, lowest first: {rid, codec (mimeType), width, height, framesEncoded, fps, encoder
 * (encoderImplementation), limitedBy (qualityLimitationReason)}. Evidence of which layers Chromium encodes.
 * @param {any} p a participant from env.open
 * @param {string} id
 * @param {string} [adaptor]
 */
export function sentLayers(p, id, adaptor = 'pub') {
  return p.page.evaluate(async ([name, x]) => {
    const pc = window.adaptors[name]?.getPeerConnection(x);
    if (!pc) return [];
    const stats = await pc.getStats();
    const out = [];
    stats.forEach((s) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      out.push({
        rid: s.rid ?? null,
        codec: (s.codecId && stats.get(s.codecId)?.mimeType) || null,
        width: s.frameWidth ?? 0,
        height: s.frameHeight ?? 0,
        framesEncoded: s.framesEncoded ?? 0,
        fps: s.framesPerSecond ?? 0,
        encoder: s.encoderImplementation ?? null,
        limitedBy: s.qualityLimitationReason ?? null,
      });
    });
    return out.sort((a, b) => a.height - b.height);
  }, [adaptor, id]);
}

/**
 * Wait (bounded) until the publisher encodes at least `min` RID layers in `codec` (a mimeType such as
 * "video/H264"), each with frames and a size; returns sentLayers' answer. Throws with the last answer, so a
 * browser that cannot send simulcast in that codec is told apart from a server that loses layers.
 */
export async function waitForSentLayers(p, id, { codec, min = 2, timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const layers = await sentLayers(p, id);
    const sending = layers.filter((l) => l.codec === codec && l.framesEncoded > 0 && l.height > 0);
    if (sending.length >= min) return layers;
    if (Date.now() > deadline) {
      throw new Error(`${p.label}: not encoding ${min} ${codec} layers within ${timeoutMs} ms; outbound-rtp video: ${JSON.stringify(layers)}`);
    }
    await sleep(500);
  }
}

/**
 * Ask getStreamInfo (official SDK page) every `intervalMs` until it lists at least `min` layers with a
 * height; returns {heights (tallest first, as listed), info (the whole streamInfo)}. Also checks the list is
 * sorted by height, tallest first. Throws with the last answer when the deadline passes.
 */
export async function waitForLayers(viewer, id, { min = 2, timeoutMs = 20_000, intervalMs = 700 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    const asked = Date.now();
    await viewer.page.evaluate((x) => window.adaptor.getStreamInfo(x), id);
    await sleep(intervalMs);
    const answer = viewer.signaling().filter((f) => f.dir === 'recv' && f.t >= asked && f.msg?.command === 'streamInformation').pop();
    if (answer) last = answer.msg;
    const info = Array.isArray(last?.streamInfo) ? last.streamInfo : [];
    const heights = info.map((l) => l.streamHeight).filter((h) => typeof h === 'number' && h > 0);
    if (heights.length >= min) {
      const all = info.map((l) => l.streamHeight);
      assert.deepEqual(all, [...all].sort((a, b) => b - a), `streamInfo is not sorted by height, tallest first: ${JSON.stringify(info)}`);
      return { heights, info };
    }
    if (Date.now() > deadline) {
      throw new Error(`getStreamInfo(${id}) did not list ${min} layers with a height within ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`);
    }
  }
}

/** The last resolutionChangeInfo the page received (at or after `since`, ms since epoch): {height, at} or null. */
export function lastLayerChange(p, since = 0) {
  const f = p.signaling()
    .filter((x) => x.dir === 'recv' && x.t >= since && x.msg?.command === 'notification' && x.msg.definition === 'resolutionChangeInfo')
    .pop();
  return f ? { height: f.msg.streamHeight, at: f.t } : null;
}

/** Every resolutionChangeInfo height the page received, in order (for messages). */
export function layerChanges(p) {
  return p.signaling()
    .filter((x) => x.dir === 'recv' && x.msg?.definition === 'resolutionChangeInfo')
    .map((x) => x.msg.streamHeight);
}

/** {videoWidth, videoHeight, ...} of the official play page's <video>. */
export function videoState(p) {
  return p.page.evaluate(() => window.videoElementState());
}

/**
 * Wait (bounded) until the player was last told `height` (resolutionChangeInfo) and its <video> shows it.
 * Returns {toldAt, shownAt} (ms since epoch; toldAt may be before `since` when the player already had it).
 */
export async function waitForLayer(p, height, { since = Date.now(), timeoutMs = 10_000, what = '' } = {}) {
  const deadline = since + timeoutMs;
  let shown = null;
  let told = null;
  for (;;) {
    told = lastLayerChange(p);
    shown = await videoState(p).catch(() => null);
    if (told?.height === height && shown?.videoHeight === height) return { toldAt: told.at, shownAt: Date.now() };
    if (Date.now() > deadline) {
      throw new Error(`${p.label}: not on the ${height}p layer within ${timeoutMs} ms${what ? ` (${what})` : ''}: `
        + `resolutionChangeInfo heights so far ${JSON.stringify(layerChanges(p))}, <video> ${JSON.stringify(shown)}`);
    }
    await sleep(100);
  }
}

/**
 * Wait (bounded) until the player has been on the `height` layer (told so, and its <video> showing it) for
 * `holdMs` without a break: a server may start a player on one layer and move it once it has measured the
 * player's link, so a moment on a layer is not yet the layer it settles on. Returns when the hold began.
 */
export async function waitForSteadyLayer(p, height, { holdMs = 5000, timeoutMs = 30_000, what = '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let onSince = null;
  let shown = null;
  for (;;) {
    shown = await videoState(p).catch(() => null);
    const on = lastLayerChange(p)?.height === height && shown?.videoHeight === height;
    const now = Date.now();
    if (!on) onSince = null;
    else if (onSince === null) onSince = now;
    if (onSince !== null && now - onSince >= holdMs) return onSince;
    if (now > deadline) {
      throw new Error(`${p.label}: not steadily (${holdMs} ms) on the ${height}p layer within ${timeoutMs} ms${what ? ` (${what})` : ''}: `
        + `resolutionChangeInfo heights so far ${JSON.stringify(layerChanges(p))}, <video> ${JSON.stringify(shown)}`);
    }
    await sleep(200);
  }
}

/**
 * forceStreamQuality(id, height) from an official SDK player, then waitForLayer (unless height is 0).
 * Returns {forcedAt, toldAt, shownAt}.
 */
export async function forceQuality(p, id, height, { timeoutMs = 10_000 } = {}) {
  const forcedAt = Date.now();
  await p.page.evaluate(([x, h]) => window.adaptor.forceStreamQuality(x, h), [id, height]);
  if (height === 0) return { forcedAt, toldAt: null, shownAt: null };
  const r = await waitForLayer(p, height, { since: forcedAt, timeoutMs, what: `forceStreamQuality(${height})` });
  return { forcedAt, ...r };
}

/** bitrateMeasurement notifications the page received: [{t, targetBitrate, videoBitrate, audioBitrate}]. */
export function bitrateMeasurements(p) {
  return p.signaling()
    .filter((x) => x.dir === 'recv' && x.msg?.command === 'notification' && x.msg.definition === 'bitrateMeasurement')
    .map((x) => ({ t: x.t, targetBitrate: x.msg.targetBitrate, videoBitrate: x.msg.videoBitrate, audioBitrate: x.msg.audioBitrate }));
}
