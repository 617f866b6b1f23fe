// ERRORS.md rows the server raises, as a page sees them through Tern's SDK (and the official SDK):
// callbackError(definition, the server's object) plus the "error" event with a sentence, each with a
// test that the error does not come when its condition does not hold. Tokens and the registered-streams
// policy are in sdk-errors-security and token, no_encoder_settings in simulcast.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { sleep } from '../lib/poll.mjs';

let env;
before(async () => { env = await startSdkEnv(); });
after(async () => { await env?.close(); });
afterEach(async () => { await env.closePages(); });

async function connected(label, options = {}) {
  const p = await env.open(label);
  await p.make('a', options);
  await p.waitFor('a', 'initialized');
  return p;
}

/** A page on the official SDK (pages/publish.html publishes `id`; its adaptor is window.adaptor). */
async function officialPage(label) {
  const p = await env.openUrl(env.web.pageUrl('publish.html', { ws: env.wsUrl(), id: uniqueStreamId('off') }), label);
  await p.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
  return p;
}

test('noStreamNameSpecified: publish with an empty id, through both SDKs', { timeout: 40_000 }, async () => {
  await env.guard('no-stream-name', async () => {
    const p = await connected('tern-empty-id');
    await p.call('a', 'publish', '');
    const data = await p.expectError('a', 'noStreamNameSpecified');
    assert.deepEqual({ command: data.command, definition: data.definition }, { command: 'error', definition: 'noStreamNameSpecified' });
    const ev = await p.waitFor('a', 'noStreamNameSpecified', { kind: 'error-event' });
    assert.match(ev.data.message, /needs a stream id/);

    const official = await officialPage('official-empty-id');
    await official.page.evaluate(() => window.adaptor.publish(''));
    const offErr = await official.waitForEvent('noStreamNameSpecified', { kind: 'error', timeoutMs: 10_000 });
    assert.equal(offErr.data.definition, 'noStreamNameSpecified');
  });
});

test('no noStreamNameSpecified for a publish with an id', { timeout: 40_000 }, async () => {
  await env.guard('no-stream-name-not', async () => {
    const p = await connected('tern-with-id');
    await p.call('a', 'publish', uniqueStreamId('named'));
    await p.waitFor('a', 'publish_started');
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});

test('no_room_specified: joinRoom without a room, through both SDKs', { timeout: 40_000 }, async () => {
  await env.guard('no-room', async () => {
    const p = await connected('tern-no-room', { isPlayMode: true });
    await p.call('a', 'joinRoom', '');
    const data = await p.expectError('a', 'no_room_specified');
    assert.equal(data.definition, 'no_room_specified');
    const ev = await p.waitFor('a', 'no_room_specified', { kind: 'error-event' });
    assert.match(ev.data.message, /room name/);

    const official = await officialPage('official-no-room');
    await official.page.evaluate(() => window.adaptor.joinRoom(''));
    await official.waitForEvent('no_room_specified', { kind: 'error', timeoutMs: 10_000 });
  });
});

test('no no_room_specified when a room is given', { timeout: 40_000 }, async () => {
  await env.guard('no-room-not', async () => {
    const p = await connected('tern-room', { isPlayMode: true });
    const room = uniqueStreamId('room');
    await p.call('a', 'joinRoom', room, uniqueStreamId('me'));
    const joined = await p.waitFor('a', 'joinedTheRoom');
    assert.equal(joined.data.room, room);
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});

test('no_peer_associated_before: a peer-to-peer message with nobody on the other side', { timeout: 40_000 }, async () => {
  await env.guard('no-peer', async () => {
    const id = uniqueStreamId('alone');
    const p = await connected('alone', { isPlayMode: true });
    await p.call('a', 'join', id);
    await p.waitFor('a', 'joined');
    await p.call('a', 'peerMessage', id, 'hello', 'anyone?');
    const data = await p.expectError('a', 'no_peer_associated_before');
    assert.equal(data.streamId, id);
    const ev = await p.waitFor('a', 'no_peer_associated_before', { kind: 'error-event' });
    assert.equal(ev.data.streamId, id);
    assert.match(ev.data.message, /no other peer/);
  });
});

test('no no_peer_associated_before once the other peer has joined', { timeout: 40_000 }, async () => {
  await env.guard('no-peer-not', async () => {
    const id = uniqueStreamId('pair');
    const a = await connected('peer-a');
    const b = await env.open('peer-b');
    await b.make('b');
    await b.waitFor('b', 'initialized');
    await a.call('a', 'join', id);
    await a.waitFor('a', 'joined');
    await b.call('b', 'join', id);
    await b.waitFor('b', 'ice_connection_state_changed', { match: (d) => d?.state === 'connected', timeoutMs: 15_000 });
    await a.call('a', 'peerMessage', id, 'hello', { n: 1 });
    const got = await b.waitFor('b', 'peerMessageCommand');
    assert.deepEqual({ definition: got.data.definition, data: got.data.data }, { definition: 'hello', data: { n: 1 } });
    await sleep(300);
    assert.deepEqual(await a.errorsOf('a'), []);
    assert.deepEqual(await b.errorsOf('b'), []);
  });
});
