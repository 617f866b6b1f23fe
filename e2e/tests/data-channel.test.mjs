// The publisher's data channel (label = streamId) reaches players: text sent with sendData(streamId, text)
// arrives at a player as data_received {streamId, data: text}, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitUntil } from '../lib/poll.mjs';

let env;
const id = uniqueStreamId('dc');

before(async () => { env = await startTestEnv(); });
after(async () => { await env?.close(); });

test('text sent on the publisher data channel reaches the player as data_received', { timeout: 60_000 }, async (t) => {
  await env.guard('data-channel', async () => {
    const publisher = await env.publisher(id);
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    const pubOpen = await publisher.waitForEvent('data_channel_opened', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(pubOpen.data, id, 'publisher data_channel_opened names the stream');
    await waitUntil(() => publisher.page.evaluate(() => window.dataChannelState() === 'open'),
      { timeoutMs: 5_000, what: 'publisher data channel readyState open' });

    const player = await env.player(id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
    const playOpen = await player.waitForEvent('data_channel_opened', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(playOpen.data, id, 'player data_channel_opened names the stream');

    const texts = [
      `hello from the publisher ${randomBytes(4).toString('hex')}`,
      `{"second":"message","n":${Date.now()}}`,
    ];
    for (const text of texts) await publisher.page.evaluate((x) => window.sendText(x), text);

    const received = await waitUntil(async () => {
      const got = (await player.events()).filter((e) => e.name === 'data_received');
      return got.length >= texts.length ? got : null;
    }, { timeoutMs: 10_000, what: `player data_received x${texts.length}` });
    assert.deepEqual(received.map((e) => e.data), texts.map((data) => ({ streamId: id, data })));
    t.diagnostic(`received ${JSON.stringify(received.map((e) => e.data.data))}`);

    // Nothing should come back to the publisher itself.
    const echoed = (await publisher.events()).filter((e) => e.name === 'data_received');
    assert.deepEqual(echoed, [], 'publisher received its own messages back');
  });
});
