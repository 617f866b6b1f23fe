// H.264: an app that enables only H.264 negotiates it with the official SDK's publisher and players,
// and the players decode it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';

let env;

before(async () => {
  env = await startTestEnv({ configToml: '[apps.H264App]\nvp8Enabled = false\nh264Enabled = true\n' });
});
after(async () => { await env?.close(); });

test('H.264-only app: the player decodes H.264 video and receives Opus audio', { timeout: 60_000 }, async (t) => {
  await env.guard('h264', async () => {
    const id = uniqueStreamId('h264');
    const publisher = await env.publisher(id, { app: 'H264App' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    const player = await env.player(id, 'player', { app: 'H264App' });
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
    await waitForFirstFrame(player, 15_000);
    const s = await assertMediaFlowing(player, { gapMs: 1200, audio: true });
    t.diagnostic(`player: ${JSON.stringify(s.after)}`);
    assert.equal(s.after.video.codec, 'video/H264', 'negotiated codec');
    assert.equal(s.after.audio.codec, 'audio/opus');
  });
});

test('the same pages on LiveApp negotiate VP8 (the browser\'s preference)', { timeout: 60_000 }, async () => {
  await env.guard('vp8-default', async () => {
    const id = uniqueStreamId('vp8');
    const publisher = await env.publisher(id);
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    const player = await env.player(id, 'player-vp8');
    await waitForFirstFrame(player, 15_000);
    const s = await assertMediaFlowing(player, { gapMs: 1200, audio: false });
    assert.equal(s.after.video.codec, 'video/VP8');
  });
});
