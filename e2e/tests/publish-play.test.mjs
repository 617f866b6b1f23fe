// One camera+mic publisher, two players in separate browser contexts: both decode video and receive audio;
// when the publisher stops, both players get play_finished.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';

let env;
const id = uniqueStreamId('pp');
let publisher;
let players = [];

before(async () => { env = await startTestEnv(); });
after(async () => { await env?.close(); });

test('publisher goes live; two players decode video and receive audio', { timeout: 60_000 }, async (t) => {
  await env.guard('publish-play-live', async () => {
    publisher = await env.publisher(id);
    const started = await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(started.data?.streamId, id, `publish_started carries streamId ${JSON.stringify(started.data)}`);

    players = [await env.player(id, 'player1'), await env.player(id, 'player2')];
    for (const p of players) {
      const ev = await p.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
      assert.equal(ev.data?.streamId, id, `${p.label}: play_started carries streamId ${JSON.stringify(ev.data)}`);
    }
    for (const p of players) await waitForFirstFrame(p, 15_000);
    const samples = await Promise.all(players.map((p) => assertMediaFlowing(p, { gapMs: 1200, audio: true })));
    samples.forEach((s, i) => t.diagnostic(`player${i + 1}: ${JSON.stringify(s.after)}`));

    for (const p of [publisher, ...players]) assert.deepEqual(p.pageErrors, [], `${p.label}: page errors`);
    for (const p of players) {
      const errors = (await p.events()).filter((e) => e.kind === 'error');
      assert.deepEqual(errors.map((e) => e.name), [], `${p.label}: SDK error callbacks while playing a live stream`);
    }
  });
});

test('publisher stop(): both players get play_finished', { timeout: 30_000 }, async (t) => {
  await env.guard('publish-play-stop', async () => {
    assert.ok(publisher && players.length === 2, 'previous test did not set up publisher and players');
    await publisher.page.evaluate(() => window.stopPublishing());
    for (const p of players) {
      const ev = await p.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
      assert.equal(ev.data?.streamId, id, `${p.label}: play_finished carries streamId ${JSON.stringify(ev.data)}`);
    }
    const pubNames = (await publisher.events()).map((e) => e.name);
    t.diagnostic(`publisher events after stop: ${pubNames.join(', ')}`);
  });
});
