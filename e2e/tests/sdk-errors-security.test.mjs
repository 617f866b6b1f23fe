import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { sleep } from '../lib/poll.mjs';

let strict;
after(async () => { await strict?.close(); });
afterEach(async () => { await strict?.closePages(); });

async function strictEnv() {
  strict ??= await startSdkEnv({ configToml: '[apps.LiveApp]\npublishTokenControlEnabled = true\nacceptOnlyStreamsInDataStore = true\n' });
  return strict;
}

/** Publish `id` (with `token`) from a fresh page of `e`; returns the page. */
async function publishOn(e, label, id, token) {
  const p = await e.open(label);
  await p.make('a');
  await p.waitFor('a', 'initialized');
  await p.call('a', 'publish', id, token);
  return p;
}

test('unauthorized_access: publishing without the token the app requires', { timeout: 40_000 }, async () => {
  const e = await strictEnv();
  await e.guard('unauthorized', async () => {
    const id = uniqueStreamId('tok');
    assert.equal((await e.rest('POST', '/broadcasts/create', { streamId: id })).status, 200);
    const p = await publishOn(e, 'no-token', id, undefined);
    const data = await p.expectError('a', 'unauthorized_access');
    assert.equal(data.streamId, id);
    const ev = await p.waitFor('a', 'unauthorized_access', { kind: 'error-event' });
    assert.match(ev.data.message, /token/);
    // Not retried behind the app's back: one publish only.
    await sleep(2000);
    const publishes = p.signaling().filter((f) => f.dir === 'sent' && f.msg?.command === 'publish');
    assert.equal(publishes.length, 1);
  });
});

test('no unauthorized_access with a valid one-time token', { timeout: 40_000 }, async () => {
  const e = await strictEnv();
  await e.guard('unauthorized-not', async () => {
    const id = uniqueStreamId('tok');
    assert.equal((await e.rest('POST', '/broadcasts/create', { streamId: id })).status, 200);
    const minted = await e.rest('GET', `/broadcasts/${id}/token?expireDate=${Math.floor(Date.now() / 1000) + 600}&type=publish`);
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    const p = await publishOn(e, 'with-token', id, minted.body.tokenId);
    await p.waitFor('a', 'publish_started', { timeoutMs: 15_000 });
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});

test('not_allowed_unregistered_streams: publishing an id no REST call created', { timeout: 40_000 }, async () => {
  const e = await strictEnv();
  await e.guard('unregistered', async () => {
    const id = uniqueStreamId('unreg');
    const p = await publishOn(e, 'unregistered', id, 'any-token');
    const data = await p.expectError('a', 'not_allowed_unregistered_streams');
    assert.equal(data.streamId, id);
    const ev = await p.waitFor('a', 'not_allowed_unregistered_streams', { kind: 'error-event' });
    assert.match(ev.data.message, /created beforehand/);
    assert.ok(!(await p.errorsOf('a')).includes('unauthorized_access'), 'the registration check answers first');
  });
});
