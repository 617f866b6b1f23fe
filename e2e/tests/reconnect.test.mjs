// Reconnection window (PROTOCOL.md §1.6, §4.9): when a publisher's connection drops, its stream and players
// stay for webRTCClientStartTimeoutMs; a publish of the same id within that window is answered with
// session_restored (not publish_started), players get no play_finished and decode again after a short gap.
// After the window, players get play_finished.
//   1. network drop: the publisher's WebSocket runs through a TCP relay that resets it; the official SDK
//      notices the close and re-publishes by itself (stop + publish on a new socket, §4.9);
//   2. the publisher's tab goes away and a new tab publishes the same id within the window;
//   3. an app with a 2 s window: nobody comes back, the player gets play_finished once the window is over.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { startTcpProxy } from '../lib/tcp-proxy.mjs';
import { startFrameLog, readFrameLog, analyseStall, waitForVideoAgain, rtpContinuity } from '../lib/frame-log.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { sleep } from '../lib/poll.mjs';

const SHORT_WINDOW_MS = 2000;
let env;
let proxy;

before(async () => {
  env = await startTestEnv({
    configToml: `shutdown_drain_ms = 200\n[apps.ShortApp]\nwebRTCClientStartTimeoutMs = ${SHORT_WINDOW_MS}\n`,
  });
  proxy = await startTcpProxy(env.server.httpPort);
});
after(async () => {
  await proxy?.close();
  await env?.close();
});
afterEach(async () => { await env.retireAll(); });

const named = (evs, name) => evs.filter((e) => e.name === name);
const sockets = (p) => p.frames.filter((f) => f.dir === 'open').length;

/** A live publisher and a player that decodes it. */
async function liveStream(id, { app = 'LiveApp', ws } = {}) {
  const publisher = await env.publisher(id, { app, ...(ws ? { ws } : {}) });
  await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
  const player = await env.player(id, 'player', { app });
  await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
  await waitForFirstFrame(player, 15_000);
  await assertMediaFlowing(player, { gapMs: 1000, audio: true });
  const rest = await env.server.rest('GET', `/broadcasts/${id}`, undefined, app);
  assert.equal(rest.json?.status, 'broadcasting', `broadcast while live, before any drop: ${rest.status} ${rest.text}`);
  return { publisher, player };
}

/** The stream's REST record (read now, asserted by the caller at the end of its test). */
async function broadcastRecord(id, app = 'LiveApp') {
  const rest = await env.server.rest('GET', `/broadcasts/${id}`, undefined, app);
  return { status: rest.status, json: rest.json, text: rest.text };
}

/** Problems with a restored stream's REST record (empty when it is 200 and "broadcasting"). */
function broadcastingProblems(rec, id, what) {
  if (rec.status !== 200) return [`GET broadcasts/${id} (${what}): ${rec.status} ${rec.text}`];
  if (rec.json?.status !== 'broadcasting') return [`REST status of the restored stream (${what}) is "${rec.json?.status}", not "broadcasting": ${rec.text}`];
  return [];
}

/** Assertions shared by the restore tests, on the player after the publisher came back. */
async function assertPlayerKeptPlaying(player, id, dropAt, t, what) {
  await assertMediaFlowing(player, { gapMs: 1200, audio: true });
  const evs = await player.events();
  assert.deepEqual(named(evs, 'play_finished'), [], `player got play_finished although the publisher came back (${what})`);
  assert.equal(named(evs, 'play_started').length, 1, `player played once; events: ${evs.map((e) => e.name)}`);
  assert.deepEqual(evs.filter((e) => e.kind === 'error').map((e) => e.name), [], 'player SDK errors');
  assert.equal(sockets(player), 1, 'the player kept its one WebSocket');
  const recvFinished = player.signaling().filter((f) => f.dir === 'recv' && f.msg?.definition === 'play_finished');
  assert.deepEqual(recvFinished, [], 'no play_finished frame reached the player');
  const log = await readFrameLog(player);
  const stall = analyseStall(log, dropAt);
  t.diagnostic(`${what}: drop -> player decoding again ${stall.dropToResumeMs} ms (longest stall ${stall.stallMs} ms, key frames decoded since the drop ${stall.keyFramesAfterDrop})`);
  assert.ok(stall.resumedAt != null, `player decoded no frame after the drop: ${JSON.stringify(stall)}`);
  assert.ok(stall.dropToResumeMs < 5000, `player decoded again only ${stall.dropToResumeMs} ms after the drop: ${JSON.stringify(stall)}`);
  // The player's streams stay one stream: same SSRC => RTP timestamps continue (about wall-clock time on).
  const jumps = [];
  for (const kind of ['video', 'audio']) {
    const c = rtpContinuity(log, dropAt, kind);
    t.diagnostic(`${what}: ${kind} RTP across the restore: ${JSON.stringify(c)}`);
    assert.ok(c.available, `${what}: no RTP timestamps of the player's ${kind} (getSynchronizationSources)`);
    if (c.sameSsrc && Math.abs(c.deviationMs) > 5000) jumps.push(`${kind}: SSRC ${c.after.ssrc} timestamp ${c.before.ts} -> ${c.after.ts} over ${c.elapsedMs} ms of wall clock = a jump of ${c.deviationMs} ms`);
  }
  return { stall, jumps: jumps.map((j) => `${what}: the player's RTP timestamps jump at the restore (same SSRC, the new publisher's timestamps forwarded as they are): ${j}`) };
}

test('network drop: the SDK re-publishes on a new socket, gets session_restored, the player keeps playing', { timeout: 60_000 }, async (t) => {
  await env.guard('reconnect-network-drop', async () => {
    const id = uniqueStreamId('drop');
    const ws = `ws://127.0.0.1:${proxy.port}/LiveApp/websocket`;
    const { publisher, player } = await liveStream(id, { ws });
    await startFrameLog(player);
    await sleep(500);
    const framesBefore = publisher.frames.length;

    const dropAt = Date.now();
    const cut = proxy.dropAll();
    assert.equal(cut, 1, `connections through the relay at the drop: ${cut}`);

    const restored = await publisher.waitForEvent('session_restored', { kind: 'callback', timeoutMs: 12_000 });
    assert.equal(restored.data?.streamId, id, `session_restored: ${JSON.stringify(restored.data)}`);
    const restoredAt = Date.now();
    const pevs = await publisher.events();
    assert.equal(named(pevs, 'publish_started').length, 1, `publish_started only for the first publish; events: ${pevs.map((e) => e.name)}`);
    assert.ok(named(pevs, 'reconnection_attempt_for_publisher').length >= 1, `the SDK noticed the drop; events: ${pevs.map((e) => e.name)}`);
    // What went over the new socket: publish -> start -> ... -> notification session_restored, no error.
    const after = publisher.frames.slice(framesBefore).filter((f) => f.dir === 'sent' || f.dir === 'recv')
      .map((f) => { try { return { dir: f.dir, msg: JSON.parse(f.payload) }; } catch { return { dir: f.dir, msg: {} }; } })
      .filter((f) => f.msg.command !== 'ping' && f.msg.command !== 'pong');
    const seq = after.map((f) => `${f.dir}:${f.msg.command}${f.msg.definition ? '/' + f.msg.definition : ''}`);
    const iPublish = seq.indexOf('sent:publish');
    const iStart = seq.indexOf('recv:start');
    const iRestored = seq.indexOf('recv:notification/session_restored');
    assert.ok(iPublish >= 0 && iStart > iPublish && iRestored > iStart, `signaling after the drop: ${seq.join(' ')}`);
    assert.deepEqual(after.filter((f) => f.dir === 'recv' && f.msg.command === 'error').map((f) => f.msg.definition), [],
      `errors after the drop: ${seq.join(' ')}`);
    assert.ok(!seq.includes('recv:notification/publish_started'), `publish_started after the drop: ${seq.join(' ')}`);
    assert.equal(proxy.accepted(), 2, 'the publisher opened one new socket');

    await waitForVideoAgain(player, dropAt, { timeoutMs: 10_000 });
    t.diagnostic(`drop -> session_restored ${restoredAt - dropAt} ms`);
    const { jumps } = await assertPlayerKeptPlaying(player, id, dropAt, t, 'network drop');
    const rec = await broadcastRecord(id);

    // The restored session owns the stream: its stop ends it for the player.
    await publisher.page.evaluate(() => window.stopPublishing());
    await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
    // Checked last so that one failure does not hide the others.
    assert.deepEqual([...jumps, ...broadcastingProblems(rec, id, 'network drop')], [], 'the restored stream');
  });
});

test('the publisher tab goes away; a new tab publishes the same id within the window: session_restored', { timeout: 60_000 }, async (t) => {
  await env.guard('reconnect-new-tab', async () => {
    const id = uniqueStreamId('tab');
    const { publisher, player } = await liveStream(id);
    await startFrameLog(player);
    await sleep(500);
    const dropAt = Date.now();
    await env.retire(publisher); // closes the page: its WebSocket and peer connection go away
    await sleep(1000);
    const again = await env.publisher(id, { label: 'publisher2' });
    const restored = await again.waitForEvent('session_restored', { kind: 'callback', timeoutMs: 12_000 });
    assert.equal(restored.data?.streamId, id);
    const evs = await again.events();
    assert.deepEqual(named(evs, 'publish_started'), [], `new tab got publish_started instead of only session_restored: ${evs.map((e) => e.name)}`);
    await waitForVideoAgain(player, dropAt, { timeoutMs: 10_000 });
    const { jumps } = await assertPlayerKeptPlaying(player, id, dropAt, t, 'new tab after 1 s');
    const rec = await broadcastRecord(id);
    assert.deepEqual([...jumps, ...broadcastingProblems(rec, id, 'new tab')], [], 'the restored stream');
  });
});

test(`after the window (${SHORT_WINDOW_MS} ms on ShortApp) the player gets play_finished; a later publish is a new one`, { timeout: 45_000 }, async (t) => {
  await env.guard('reconnect-window-over', async () => {
    const id = uniqueStreamId('gone');
    const { publisher, player } = await liveStream(id, { app: 'ShortApp' });
    const droppedAt = Date.now();
    await env.retire(publisher);
    await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: SHORT_WINDOW_MS + 6000 });
    const finishedAfter = Date.now() - droppedAt;
    t.diagnostic(`publisher gone -> play_finished ${finishedAfter} ms (window ${SHORT_WINDOW_MS} ms)`);
    assert.ok(finishedAfter >= SHORT_WINDOW_MS - 500, `play_finished ${finishedAfter} ms after the drop: before the window ended`);
    const rest = await env.server.rest('GET', `/broadcasts/${id}`, undefined, 'ShortApp');
    assert.notEqual(rest.json?.status, 'broadcasting', `broadcast after the window: ${rest.status} ${rest.text}`);
    const again = await env.publisher(id, { app: 'ShortApp', label: 'publisher-late' });
    await again.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    assert.deepEqual(named(await again.events(), 'session_restored'), [], 'a publish after the window is not a restore');
  });
});
