// WHIP and WHEP with a third-party client library (Medooze's whip-whep, loaded by pages/whip.html and
// pages/whep.html from another origin than tern's, so CORS is part of the test), against official SDK pages:
// a WHIP publisher is played by the SDK's player, and the library's stop() ends the play; the SDK's publisher
// is played by a WHEP player, which decodes video, receives audio and leaves with the library's stop().
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { waitUntil } from '../lib/poll.mjs';

let env;
// The app's STUN server, handed out in the answer's Link header, which the library applies to its peer
// connection: a loopback address, so that nothing here talks to a STUN server off this machine.
const STUN = 'stun:127.0.0.1:9';

before(async () => { env = await startTestEnv({ configToml: `[apps.LiveApp]\nstunServerURI = "${STUN}"\n` }); });
afterEach(async () => { await env?.retireAll(); });
after(async () => { await env?.close(); });

/** The library's fetches recorded by the page (kind 'http'), named by method. */
async function httpEvents(p, method) {
  return (await p.events()).filter((e) => e.kind === 'http' && e.name === method);
}

/**
 * What the library saw of its POST: 201, an SDP answer, and the exposed Location (absolute path of the
 * session resource under `base`), ETag and Link (the app's STUN server). Returns the POST's record.
 */
async function assertCreated(p, base) {
  const post = await p.waitForEvent('POST', { kind: 'http', timeoutMs: 10_000 });
  const { status, headers } = post.data;
  assert.equal(status, 201, `${p.label}: POST ${post.data.url} answered ${status} ${post.data.body ?? ''}`);
  assert.equal(post.data.contentType, 'application/sdp', 'the library sends its offer as application/sdp');
  assert.match(headers['content-type'] ?? '', /^application\/sdp/, 'the answer is application/sdp');
  assert.ok(headers.location?.startsWith(`${base}/`) && headers.location.length > base.length + 1,
    `${p.label}: Location ${JSON.stringify(headers.location)} is a resource under ${base}/`);
  assert.match(headers.etag ?? '', /^"[^"]+"$/, `${p.label}: ETag is a quoted tag`);
  assert.equal(headers.link, `<${STUN}>; rel="ice-server"`, `${p.label}: Link names the app's STUN server`);
  return post;
}

/** The library took the ICE servers of the Link header into its peer connection (`event`: its record). */
function assertIceServersApplied(event) {
  assert.deepEqual(event.data?.iceServers?.flatMap((s) => s.urls), [STUN],
    `ICE servers after the answer: ${JSON.stringify(event.data)}`);
}

/**
 * The library trickled its candidates with PATCH (application/trickle-ice-sdpfrag, If-Match = the ETag when
 * it sends one) and every PATCH that carried a candidate was accepted with 204. Returns all PATCHes.
 */
async function assertCandidatesTrickled(p, etag) {
  const withCandidates = (list) => list.filter((e) => /^a=candidate:/m.test(e.data.fragment ?? ''));
  await waitUntil(async () => withCandidates(await httpEvents(p, 'PATCH')).length > 0,
    { timeoutMs: 5000, what: `${p.label}: a trickle PATCH with a candidate` });
  const patches = await httpEvents(p, 'PATCH');
  for (const e of patches) {
    assert.equal(e.data.contentType, 'application/trickle-ice-sdpfrag');
    if (e.data.ifMatch != null) assert.equal(e.data.ifMatch, etag, 'If-Match is the ETag of the POST');
  }
  for (const e of withCandidates(patches)) {
    assert.equal(e.data.status, 204, `PATCH ${JSON.stringify(e.data.fragment)}: ${e.data.status} ${e.data.body ?? ''}`);
  }
  return patches;
}

/**
 * The library's stop() sent DELETE to the Location, answered 200 (whip-whep closes its peer connection first,
 * then sends DELETE: the session is still there). Returns the record.
 */
async function assertDeleteSent(p, location) {
  const del = await p.waitForEvent('DELETE', { kind: 'http', timeoutMs: 5000 });
  assert.equal(del.data.url, `${env.server.baseUrl()}${location}`, 'DELETE goes to the Location');
  const { status, body } = del.data;
  assert.equal(status, 200, `${p.label}: DELETE answered ${status} ${body ?? ''}`);
  return del;
}

async function errorRecords(p) {
  return (await p.events()).filter((e) => e.kind === 'error').map((e) => `${e.name} ${JSON.stringify(e.data)}`);
}

test('a WHIP client library publishes; the SDK player decodes it; the library\'s stop() ends the play', { timeout: 40_000 }, async (t) => {
  await env.guard('whip-publish', async () => {
    const id = uniqueStreamId('whip');
    const base = `/LiveApp/whip/${id}`;
    const whip = await env.open('whip.html', { id, label: 'whip-publisher', endpoint: `${env.server.baseUrl()}${base}` });
    const post = await assertCreated(whip, base);
    assertIceServersApplied(await whip.waitForEvent('published', { kind: 'callback', timeoutMs: 5000 }));
    await whip.waitForEvent('connectionState', { kind: 'callback', timeoutMs: 10_000, match: (s) => s === 'connected' });
    const patches = await assertCandidatesTrickled(whip, post.data.headers.etag);
    assert.ok(patches.every((e) => e.data.ifMatch != null), 'the WHIP client sends If-Match with every PATCH');
    assert.deepEqual(patches.filter((e) => e.data.status !== 204).map((e) => e.data), [], 'every PATCH answered 204');

    const player = await env.player(id, 'sdk-player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
    await waitForFirstFrame(player, 15_000);
    const s = await assertMediaFlowing(player, { gapMs: 1200, audio: true });
    t.diagnostic(`SDK player of the WHIP stream: ${JSON.stringify(s.after)}; ${patches.length} trickle PATCH(es)`);

    const stoppedAt = Date.now();
    await whip.page.evaluate(() => window.stopWhip());
    const del = await assertDeleteSent(whip, post.data.headers.location);
    // As the WebSocket stop: the stream ends at once, not after a dropped publisher's restore window.
    const fin = await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 5_000 });
    const finishedAfter = Date.now() - stoppedAt;
    assert.equal(fin.data?.streamId, id, `play_finished carries streamId ${JSON.stringify(fin.data)}`);
    t.diagnostic(`stop(): DELETE answered ${del.data.status}; play_finished ${finishedAfter} ms after stop()`);
    assert.ok(finishedAfter < 3000, `play_finished ${finishedAfter} ms after stop()`);
    assert.deepEqual(whip.pageErrors, [], 'whip-publisher: page errors');
    assert.deepEqual(await errorRecords(whip), [], 'whip-publisher: error records');
  });
});

test('the SDK publishes; a WHEP player library decodes video and audio into <video>; stop() leaves', { timeout: 40_000 }, async (t) => {
  await env.guard('whep-play', async () => {
    const id = uniqueStreamId('whep');
    const base = `/LiveApp/whep/${id}`;
    const publisher = await env.publisher(id);
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });

    const whep = await env.open('whep.html', { id, label: 'whep-player', endpoint: `${env.server.baseUrl()}${base}` });
    const post = await assertCreated(whep, base);
    assertIceServersApplied(await whep.waitForEvent('viewing', { kind: 'callback', timeoutMs: 5000 }));
    await whep.waitForEvent('connectionState', { kind: 'callback', timeoutMs: 10_000, match: (s) => s === 'connected' });
    await assertCandidatesTrickled(whep, post.data.headers.etag);
    const tracks = (await whep.events()).filter((e) => e.name === 'track').map((e) => e.data);
    assert.deepEqual(tracks.map((x) => x.kind).sort(), ['audio', 'video'], 'one remote audio and one remote video track');

    await waitForFirstFrame(whep, 15_000);
    const s = await assertMediaFlowing(whep, { gapMs: 1200, audio: true });
    // What the element shows, not only what the decoder counts.
    const v0 = await whep.page.evaluate(() => window.videoFrames());
    const v1 = await waitUntil(async () => {
      const v = await whep.page.evaluate(() => window.videoFrames());
      return v.presented >= v0.presented + 10 && v.totalVideoFrames > v0.totalVideoFrames ? v : null;
    }, { timeoutMs: 5000, what: `whep-player: the <video> presents 10 more frames (from ${JSON.stringify(v0)})` });
    assert.ok(v1.videoWidth > 0 && v1.videoHeight > 0, `<video> has a size: ${JSON.stringify(v1)}`);
    t.diagnostic(`WHEP player: ${JSON.stringify(s.after)}; <video> ${JSON.stringify(v1)}`);

    const viewers = async () => (await env.server.rest('GET', `/broadcasts/${id}`)).json?.webRTCViewerCount;
    assert.equal(await viewers(), 1, 'REST counts the WHEP player as a WebRTC viewer');
    await whep.page.evaluate(() => window.stopWhep());
    const del = await assertDeleteSent(whep, post.data.headers.location);
    await waitUntil(async () => (await viewers()) === 0, { timeoutMs: 5000, what: 'webRTCViewerCount 0 after stop()' });
    t.diagnostic(`stop(): DELETE answered ${del.data.status}`);
    const patches = await httpEvents(whep, 'PATCH');
    assert.deepEqual(await errorRecords(whep), [], 'whep-player: error records');
    // whip-whep's README puts the video track's stream on <video>: audio then plays, and the browser syncs it
    // with video, only when both tracks come in one stream (one a=msid stream id in the answer).
    assert.ok(tracks.every((x) => x.streams.length === 1 && x.streams[0] === tracks[0].streams[0]),
      `audio and video in one MediaStream: ${JSON.stringify(tracks)}`);
    // whip-whep's WHEPClient sends no If-Match; its last PATCH may carry only the offer's own credentials and
    // a=end-of-candidates, which is no ICE restart.
    assert.deepEqual(patches.filter((e) => e.data.status !== 204).map((e) => e.data), [], 'PATCHes not answered 204');
    assert.deepEqual(whep.pageErrors, [], 'whep-player: page errors');
  });
});
