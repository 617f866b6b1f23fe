// Tern's SDK publishes and plays through Tern; pages on the official SDK play what Tern's SDK
// publishes and the other way round; a player that comes first waits for the stream; and when
// the server goes away and comes back, publish and play resume without the page doing anything.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { waitUntil } from '../lib/poll.mjs';

let env;
before(async () => { env = await startSdkEnv(); });
after(async () => { await env?.close(); });
afterEach(async () => { await env.closePages(); });

async function ternPublisher(id, label = 'tern-publisher') {
  const p = await env.open(label);
  await p.make('pub');
  await p.waitFor('pub', 'initialized');
  await p.call('pub', 'publish', id);
  await p.waitFor('pub', 'publish_started', { match: (d) => d?.streamId === id });
  return p;
}

async function ternPlayer(id, label = 'tern-player', options = {}) {
  const p = await env.open(label);
  await p.make('play', { isPlayMode: true, localVideoId: undefined, ...options });
  await p.waitFor('play', 'initialized');
  await p.page.evaluate((x) => window.watchStats('play', x), id);
  await p.call('play', 'play', id);
  return p;
}

test("Tern's SDK publishes and plays through Tern: video, audio, named tracks, data channel", { timeout: 60_000 }, async (t) => {
  await env.guard('tern-to-tern', async () => {
    const id = uniqueStreamId('tt');
    const pub = await ternPublisher(id);
    const ply = await ternPlayer(id);
    await ply.waitFor('play', 'play_started');
    await waitForFirstFrame(ply, 15_000);
    const flow = await assertMediaFlowing(ply, { gapMs: 1200, audio: true });
    t.diagnostic(`player: ${JSON.stringify(flow.after)}`);
    const tracks = (await ply.eventsOf('play')).filter((e) => e.name === 'newTrackAvailable').map((e) => e.data.trackId).sort();
    assert.deepEqual(tracks, [`ARDAMSa${id}`, `ARDAMSv${id}`]);

    // Data channel: text and binary from the publisher arrive whole at the player.
    await pub.waitFor('pub', 'data_channel_opened');
    await ply.waitFor('play', 'data_channel_opened');
    assert.equal(await pub.call('pub', 'sendData', id, 'hello from Tern'), true);
    assert.equal(await pub.page.evaluate((x) => window.adaptors.pub.sendData(x, new Uint8Array(40_000).map((_, i) => i % 251)), id), true);
    const got = await waitUntil(async () => {
      const evs = (await ply.eventsOf('play')).filter((e) => e.name === 'data_received');
      return evs.length >= 2 ? evs : null;
    }, { timeoutMs: 10_000, what: 'two data_received at the player' });
    assert.deepEqual(got[0].data, { streamId: id, data: 'hello from Tern' });
    assert.deepEqual(got[1].data, { streamId: id, data: { arrayBufferBytes: 40_000 } });

    const stats = await pub.call('pub', 'getStats', id);
    assert.ok(stats.totalBytesSent > 0, `publisher getStats: ${JSON.stringify(stats)}`);
    await pub.call('pub', 'stop', id);
    await ply.waitFor('play', 'play_finished', { match: (d) => d?.streamId === id });
    assert.deepEqual(await pub.errorsOf('pub'), []);
    assert.deepEqual(await ply.errorsOf('play'), []);
  });
});

test("a page on the official SDK plays a stream published with Tern's SDK", { timeout: 60_000 }, async () => {
  await env.guard('tern-to-official', async () => {
    const id = uniqueStreamId('to');
    const pub = await ternPublisher(id);
    const official = await env.openUrl(env.web.pageUrl('play.html', { ws: env.wsUrl(), id }), 'official-player');
    await official.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(official, 15_000);
    await assertMediaFlowing(official, { gapMs: 1200, audio: true });
    await pub.waitFor('pub', 'data_channel_opened');
    await pub.call('pub', 'sendData', id, 'to the official SDK');
    await official.waitForEvent('data_received', { kind: 'callback', match: (d) => d?.data === 'to the official SDK' });
    assert.deepEqual((await official.events()).filter((e) => e.kind === 'error'), []);
  });
});

test("Tern's SDK plays a stream published by a page on the official SDK", { timeout: 60_000 }, async () => {
  await env.guard('official-to-tern', async () => {
    const id = uniqueStreamId('ot');
    const official = await env.openUrl(env.web.pageUrl('publish.html', { ws: env.wsUrl(), id }), 'official-publisher');
    await official.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const ply = await ternPlayer(id, 'tern-player', { remoteVideoId: 'remoteVideo' });
    await ply.waitFor('play', 'play_started');
    await waitForFirstFrame(ply, 15_000);
    await assertMediaFlowing(ply, { gapMs: 1200, audio: true });
    const video = await ply.page.evaluate(() => ({ attached: document.getElementById('remoteVideo').srcObject != null }));
    assert.equal(video.attached, true, 'remoteVideoId receives the stream');
    await official.page.evaluate(() => window.sendText('from the official SDK'));
    await ply.waitFor('play', 'data_received', { match: (d) => d?.data === 'from the official SDK' });
    assert.deepEqual(await ply.errorsOf('play'), []);
  });
});

test('a player that comes before the publisher gets no_stream_exist, waits without polling, then plays', { timeout: 60_000 }, async () => {
  await env.guard('play-first', async () => {
    const id = uniqueStreamId('first');
    const ply = await ternPlayer(id);
    const err = await ply.waitFor('play', 'no_stream_exist', { kind: 'error' });
    assert.equal(err.data.streamId, id);
    await ternPublisher(id);
    await ply.waitFor('play', 'play_started', { timeoutMs: 15_000 });
    await waitForFirstFrame(ply, 15_000);
    const plays = ply.signaling().filter((f) => f.dir === 'sent' && f.msg?.command === 'play');
    assert.equal(plays.length, 1, 'the server brought the offer: play was sent once');
  });
});

test('the server restarts: publish and play resume by themselves and media flows again', { timeout: 90_000 }, async (t) => {
  await env.guard('server-restart', async () => {
    const id = uniqueStreamId('again');
    const pub = await ternPublisher(id);
    const ply = await ternPlayer(id);
    await ply.waitFor('play', 'play_started');
    await waitForFirstFrame(ply, 15_000);
    const t0 = Date.now();
    await env.restartTern(1500);
    t.diagnostic(`tern restarted in ${Date.now() - t0} ms (down 1.5 s)`);
    await pub.waitFor('pub', 'reconnection_attempt_for_publisher', { timeoutMs: 20_000 });
    await ply.waitFor('play', 'reconnection_attempt_for_player', { timeoutMs: 20_000 });
    const started = (evs, name) => evs.filter((e) => e.name === name).length;
    await waitUntil(async () => {
      const evs = await pub.eventsOf('pub');
      return started(evs, 'publish_started') + started(evs, 'session_restored') >= 2;
    }, { timeoutMs: 25_000, what: 'the publisher to be live again' });
    await waitUntil(async () => started(await ply.eventsOf('play'), 'play_started') >= 2, { timeoutMs: 25_000, what: 'the player to play again' });
    await waitForFirstFrame(ply, 15_000);
    await assertMediaFlowing(ply, { gapMs: 1200, audio: true });
    // Bounded: a handful of sockets, not a storm.
    const sockets = (p) => p.frames.filter((f) => f.dir === 'open').length;
    assert.ok(sockets(pub) >= 2 && sockets(pub) <= 8, `publisher opened ${sockets(pub)} sockets`);
    assert.ok(sockets(ply) >= 2 && sockets(ply) <= 8, `player opened ${sockets(ply)} sockets`);
    const pubErrors = await pub.errorsOf('pub');
    assert.ok(pubErrors.every((e) => e === 'WebSocketNotConnected'), `publisher errors: ${pubErrors}`);
  });
});
