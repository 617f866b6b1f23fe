// Simulcast (issue #6): a publisher on Tern's SDK with `simulcast: true` and a 1280x720 camera sends three
// RID layers; a player on the official SDK sees them in getStreamInfo (tallest first), is told which one it
// gets (resolutionChangeInfo, the first one included), pins the lowest and then the top one with
// forceStreamQuality — its <video> follows within 10 s each time — and returns to automatic choice with 0;
// its video never stops for more than a second across the switches, and bitrateMeasurement arrives about
// every 5 s. Forcing a quality on a single-layer stream answers no_encoder_settings.
// The same in H.264: on an app that allows only H.264, Chromium encodes the layers with its software encoder,
// the server lists them as H264 with the heights from their SPS, and forcing the lowest and the top one works.
// Heights come from what the server lists, not from constants: Chromium picks the layer sizes.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { startVideoFrameLog, readVideoFrameLog, longestFrameGap, heightRuns } from '../lib/frame-log.mjs';
import {
  publishSimulcast, waitForLayers, waitForLayer, forceQuality, lastLayerChange, layerChanges, bitrateMeasurements,
  sentLayers, waitForSentLayers,
} from '../lib/simulcast-checks.mjs';
import { sleep, waitUntil } from '../lib/poll.mjs';

const MAX_FRAME_GAP_MS = 1000;
/** An app whose codec settings (Ant Media's names) allow only H.264, next to the default LiveApp. */
const H264_APP = 'H264App';

let env;
before(async () => { env = await startSdkEnv({ configToml: `[apps.${H264_APP}]\nvp8Enabled = false\nh264Enabled = true\n` }); });
after(async () => { await env?.close(); });
afterEach(async () => { await env.closePages(); });

/** An official SDK player of `id` on `app` that decodes video. */
async function officialPlayer(id, label = 'player', app = 'LiveApp') {
  const p = await env.openUrl(env.web.pageUrl('play.html', { ws: env.wsUrl(app), id }), label);
  await p.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
  await waitForFirstFrame(p, 15_000);
  return p;
}

/** Pin the player to the lowest listed height, then the top one; each switch must show within 10 s. */
async function forceLowThenTop(t, player, id, heights) {
  for (const h of [heights[heights.length - 1], heights[0]]) {
    const s = await forceQuality(player, id, h);
    t.diagnostic(`force ${h}p: told after ${s.toldAt - s.forcedAt} ms, <video> after ${s.shownAt - s.forcedAt} ms`);
    await sleep(1500);
  }
}

test('simulcast: layers listed tallest first; forcing the lowest and the top layer switches the player without a stall', { timeout: 90_000 }, async (t) => {
  await env.guard('simulcast-force', async () => {
    const id = uniqueStreamId('sim');
    const pub = await env.open('publisher');
    await publishSimulcast(pub, id);
    const player = await officialPlayer(id);
    await startVideoFrameLog(player, '#remoteVideo');
    const joinedAt = Date.now();

    const { heights, info } = await waitForLayers(player, id, { min: 2, timeoutMs: 25_000 });
    t.diagnostic(`layers listed ${Date.now() - joinedAt} ms after the first frame: ${JSON.stringify(info)}`);
    assert.ok(lastLayerChange(player), 'resolutionChangeInfo for the first layer the player got');

    const phaseFrom = Date.now();
    await forceLowThenTop(t, player, id, heights);
    await forceQuality(player, id, 0);
    // Back to automatic: the server may keep the top layer or move; the player goes on being told what it gets.
    await sleep(3000);
    const auto = lastLayerChange(player);
    assert.ok(heights.includes(auto.height), `after forceStreamQuality(0) the player is told ${auto.height}p, not a listed layer (${heights})`);
    await assertMediaFlowing(player, { gapMs: 1200, audio: true });

    const frames = await readVideoFrameLog(player);
    const gap = longestFrameGap(frames, phaseFrom, Date.now());
    t.diagnostic(`<video> heights over the test: ${JSON.stringify(heightRuns(frames).map((r) => `${r.h}p×${r.frames}`))}; longest gap while switching ${gap.gapMs} ms`);
    assert.ok(gap.frames > 0, 'the player presented frames while switching');
    assert.ok(gap.gapMs <= MAX_FRAME_GAP_MS, `the player's video stopped for ${gap.gapMs} ms while switching layers: ${JSON.stringify(gap)}`);

    const rates = bitrateMeasurements(player);
    assert.ok(rates.length >= 1, `no bitrateMeasurement in ${Math.round((Date.now() - joinedAt) / 1000)} s of playing`);
    for (const r of rates) {
      assert.ok(['targetBitrate', 'videoBitrate', 'audioBitrate'].every((k) => Number.isInteger(r[k]) && r[k] >= 0), `bitrateMeasurement fields: ${JSON.stringify(r)}`);
    }
    const errors = (await player.events()).filter((e) => e.kind === 'error').map((e) => e.name);
    assert.deepEqual(errors, [], 'player SDK errors');
    assert.deepEqual(await pub.errorsOf('pub'), [], 'publisher SDK errors');
    t.diagnostic(`resolutionChangeInfo heights: ${JSON.stringify(layerChanges(player))}; bitrateMeasurement: ${JSON.stringify(rates)}`);
  });
});

test('simulcast: a second player joining later is told its first layer and decodes while the first one is pinned low', { timeout: 90_000 }, async (t) => {
  await env.guard('simulcast-two-players', async () => {
    const id = uniqueStreamId('sim2');
    const pub = await env.open('publisher');
    await publishSimulcast(pub, id);
    const first = await officialPlayer(id, 'player1');
    const { heights } = await waitForLayers(first, id, { min: 2, timeoutMs: 25_000 });
    const low = heights[heights.length - 1];
    await forceQuality(first, id, low);

    // A pin is per player: the second one is not held to the first one's choice.
    const second = await officialPlayer(id, 'player2');
    const told = await waitUntil(() => lastLayerChange(second), { timeoutMs: 10_000, what: 'player2: its first resolutionChangeInfo' });
    // A loaded publisher's Chromium may add its top layer after the first listing: the layer told must be one
    // listed before or after it was told.
    const since = await waitForLayers(second, id, { min: 1, timeoutMs: 10_000 });
    const listed = [...new Set([...heights, ...since.heights])];
    assert.ok(listed.includes(told.height), `player2 told ${told.height}p, not a listed layer (${listed})`);
    await forceQuality(second, id, heights[0]);
    await assertMediaFlowing(second, { gapMs: 1200, audio: true });
    // A pin takes the tallest layer not above it, else the lowest there is. A loaded publisher's
    // Chromium may drop or shrink layers (CPU adaptation): then the lowest one listed now is right.
    const now = await waitForLayers(first, id, { min: 1, timeoutMs: 10_000 });
    const expected = now.heights.includes(low) ? low : Math.min(...now.heights);
    if (expected !== low) t.diagnostic(`the publisher's layers changed to ${now.heights}: ${low}p is gone`);
    await waitForLayer(first, expected, { timeoutMs: 2000, what: `player1 still pinned low (${expected}p)` });
  });
});

test('forceStreamQuality on a single-layer stream answers no_encoder_settings; the player keeps playing', { timeout: 60_000 }, async () => {
  await env.guard('simulcast-no-encoder-settings', async () => {
    const id = uniqueStreamId('single');
    const pub = await env.open('publisher');
    await pub.make('pub');
    await pub.waitFor('pub', 'initialized');
    await pub.call('pub', 'publish', id);
    await pub.waitFor('pub', 'publish_started', { timeoutMs: 15_000 });
    const player = await officialPlayer(id);
    await player.page.evaluate((x) => window.adaptor.forceStreamQuality(x, 240), id);
    const err = await player.waitForEvent('no_encoder_settings', { kind: 'error', timeoutMs: 5000 });
    assert.equal(err.data?.command, 'error');
    assert.equal(err.data?.streamId, id, `error names the stream: ${JSON.stringify(err.data)}`);
    await assertMediaFlowing(player, { gapMs: 1200, audio: true });
    // Back to automatic is no request for a rendition: no error.
    await player.page.evaluate((x) => window.adaptor.forceStreamQuality(x, 0), id);
    await sleep(1000);
    const errors = (await player.events()).filter((e) => e.kind === 'error').map((e) => e.name);
    assert.deepEqual(errors, ['no_encoder_settings'], 'only the one error');
  });
});

test('H.264 simulcast: an H.264-only app lists H264 layers of distinct heights; forcing the lowest and the top one switches the player without a stall', { timeout: 90_000 }, async (t) => {
  await env.guard('simulcast-h264', async () => {
    const id = uniqueStreamId('simh264');
    const pub = await env.open('publisher', { params: { ws: env.wsUrl(H264_APP) } });
    await publishSimulcast(pub, id);
    // Chromium's own view first: if it cannot encode H.264 simulcast, say so rather than blame the server.
    const sent = await waitForSentLayers(pub, id, { codec: 'video/H264', min: 2, timeoutMs: 15_000 });
    t.diagnostic(`publisher's outbound-rtp video: ${JSON.stringify(sent)}`);
    const player = await officialPlayer(id, 'player', H264_APP);
    await startVideoFrameLog(player, '#remoteVideo');

    const { heights, info } = await waitForLayers(player, id, { min: 2, timeoutMs: 25_000 })
      .catch(async (e) => { throw new Error(`${e.message}; publisher sends ${JSON.stringify(await sentLayers(pub, id))}`); });
    t.diagnostic(`layers listed: ${JSON.stringify(info)}`);
    const listed = info.filter((l) => l.streamHeight > 0);
    assert.deepEqual(listed.map((l) => l.videoCodec), listed.map(() => 'H264'), `videoCodec of the listed layers: ${JSON.stringify(info)}`);
    assert.equal(new Set(heights).size, heights.length, `layer heights are not distinct: ${JSON.stringify(info)}`);
    assert.ok(lastLayerChange(player), 'resolutionChangeInfo for the first layer the player got');

    const phaseFrom = Date.now();
    await forceLowThenTop(t, player, id, heights);
    const frames = await readVideoFrameLog(player);
    const gap = longestFrameGap(frames, phaseFrom, Date.now());
    t.diagnostic(`<video> heights: ${JSON.stringify(heightRuns(frames).map((r) => `${r.h}p×${r.frames}`))}; longest gap while switching ${gap.gapMs} ms`);
    assert.ok(gap.frames > 0, 'the player presented frames while switching');
    assert.ok(gap.gapMs <= MAX_FRAME_GAP_MS, `the player's video stopped for ${gap.gapMs} ms while switching layers: ${JSON.stringify(gap)}`);

    const s = await assertMediaFlowing(player, { gapMs: 1200, audio: true });
    assert.equal(s.after.video.codec, 'video/H264', 'the player decodes H.264');
    const errors = (await player.events()).filter((e) => e.kind === 'error').map((e) => e.name);
    assert.deepEqual(errors, [], 'player SDK errors');
    assert.deepEqual(await pub.errorsOf('pub'), [], 'publisher SDK errors');
    t.diagnostic(`resolutionChangeInfo heights: ${JSON.stringify(layerChanges(player))}`);
  });
});
