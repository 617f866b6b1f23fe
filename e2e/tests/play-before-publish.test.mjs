// Players that ask for a stream before it is live get no_stream_exist, and end up decoding once the
// publisher starts:
//   - "sdk-retry": a default SDK player (its own loop re-sends stop+play every ~3.5 s);
//   - "no-retry":  a player with the SDK's retry loop turned off (reconnectIfRequiredFlag = false), so only
//     the server can bring it the offer: this checks that tern remembers waiting players.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';

let env;
const id = uniqueStreamId('early');
let retryPlayer;
let noRetryPlayer;
let publisher;

before(async () => { env = await startTestEnv(); });
after(async () => { await env?.close(); });

test('players started before the publisher get no_stream_exist', { timeout: 30_000 }, async () => {
  await env.guard('early-no-stream', async () => {
    retryPlayer = await env.player(id, 'player-sdk-retry');
    noRetryPlayer = await env.player(id, 'player-no-retry', { retry: '0' });
    for (const p of [retryPlayer, noRetryPlayer]) {
      const ev = await p.waitForEvent('no_stream_exist', { kind: 'error', timeoutMs: 10_000 });
      assert.equal(ev.data?.streamId, id, `${p.label}: no_stream_exist carries streamId ${JSON.stringify(ev.data)}`);
      assert.equal(ev.data?.command, 'error');
    }
  });
});

test('publisher goes live', { timeout: 30_000 }, async () => {
  await env.guard('early-publish', async () => {
    publisher = await env.publisher(id);
    const ev = await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(ev.data?.streamId, id);
  });
});

test('player with the SDK retry loop decodes video after the publisher starts', { timeout: 30_000 }, async () => {
  await env.guard('early-sdk-retry-decodes', async () => {
    assert.ok(retryPlayer && publisher, 'earlier steps failed');
    await waitForFirstFrame(retryPlayer, 15_000);
    await assertMediaFlowing(retryPlayer, { gapMs: 1200, audio: true });
  });
});

test('player without the SDK retry loop gets the offer from the server and decodes', { timeout: 30_000 }, async (t) => {
  await env.guard('early-no-retry-decodes', async () => {
    assert.ok(noRetryPlayer && publisher, 'earlier steps failed');
    const plays = noRetryPlayer.signaling().filter((f) => f.dir === 'sent' && f.msg?.command === 'play');
    assert.equal(plays.length, 1, `the no-retry page must send play exactly once (sent ${plays.length})`);
    await waitForFirstFrame(noRetryPlayer, 15_000);
    await assertMediaFlowing(noRetryPlayer, { gapMs: 1200, audio: true });
    const offer = noRetryPlayer.signaling().find((f) => f.dir === 'recv' && f.msg?.command === 'takeConfiguration' && f.msg?.type === 'offer');
    assert.ok(offer, 'no takeConfiguration offer received');
    const pubStarted = publisher.frames.find((f) => f.dir === 'recv' && f.payload.includes('"publish_started"'));
    if (pubStarted) t.diagnostic(`offer reached the waiting player ${offer.t - pubStarted.t} ms after the publisher's publish_started`);
  });
});
