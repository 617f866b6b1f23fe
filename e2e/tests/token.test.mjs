// Stream security with the official SDK: with publishTokenControlEnabled, a page publishes with a one-time
// token minted through REST and goes live (REST then shows the broadcast live, with its viewer and
// renditions); a second page presenting the same token is refused with unauthorized_access.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame } from '../lib/media-checks.mjs';
import { waitUntil } from '../lib/poll.mjs';

let env;
const id = uniqueStreamId('tok');

before(async () => {
  env = await startTestEnv({ configToml: '[apps.LiveApp]\npublishTokenControlEnabled = true\n' });
});
after(async () => { await env?.close(); });

/** A REST v2 call on the test server (from 127.0.0.1, which the default IP filter allows). */
async function rest(method, path) {
  const res = await fetch(`http://127.0.0.1:${env.server.httpPort}/LiveApp/rest/v2${path}`, {
    method,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

test('a REST-minted one-time token lets one publish in, and only once', { timeout: 90_000 }, async (t) => {
  await env.guard('token-one-time', async () => {
    const expireDate = Math.floor(Date.now() / 1000) + 600;
    const minted = await rest('GET', `/broadcasts/${id}/token?expireDate=${expireDate}&type=publish`);
    assert.equal(minted.status, 200, `token endpoint: ${JSON.stringify(minted.body)}`);
    assert.equal(minted.body.streamId, id);
    assert.equal(minted.body.type, 'publish');
    const token = minted.body.tokenId;
    assert.ok(typeof token === 'string' && token.length >= 16, `tokenId ${token}`);

    // Without a token the publish is refused.
    const tokenless = await env.open('publish.html', { id: uniqueStreamId('none'), label: 'tokenless' });
    const refusedFirst = await tokenless.waitForEvent('unauthorized_access', { kind: 'error', timeoutMs: 10_000 });
    t.diagnostic(`no token: ${JSON.stringify(refusedFirst.data)}`);
    await tokenless.close();

    const publisher = await env.open('publish.html', { id, token, label: 'publisher' });
    const started = await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    assert.equal(started.data?.streamId, id);

    // REST shows the stream live, with a live viewer count and its renditions.
    const live = await waitUntil(async () => {
      const r = await rest('GET', `/broadcasts/${id}`);
      return r.body?.status === 'broadcasting' ? r.body : null;
    }, { timeoutMs: 5000, what: 'broadcast status broadcasting' });
    assert.equal(live.zombi, true, 'a stream published without registration is a zombi broadcast');
    assert.equal((await rest('GET', '/broadcasts/active-live-stream-count')).body.number, 1);
    const player = await env.player(id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(player, 15_000);
    await waitUntil(async () => (await rest('GET', `/broadcasts/${id}`)).body?.webRTCViewerCount === 1,
      { timeoutMs: 5000, what: 'webRTCViewerCount 1' });
    const info = await waitUntil(async () => {
      const r = await rest('GET', `/broadcasts/${id}/stream-info`);
      return r.status === 200 && r.body.length > 0 && r.body[0].videoCodec ? r.body : null;
    }, { timeoutMs: 10_000, what: 'stream-info with a video rendition' });
    t.diagnostic(`stream-info: ${JSON.stringify(info)}`);

    // The same token a second time: refused.
    const second = await env.open('publish.html', { id, token, label: 'second' });
    const refused = await second.waitForEvent('unauthorized_access', { kind: 'error', timeoutMs: 10_000 });
    assert.equal(refused.data?.streamId, id, `unauthorized_access names the stream: ${JSON.stringify(refused.data)}`);
    const secondStarted = (await second.events()).some((e) => e.name === 'publish_started');
    assert.equal(secondStarted, false, 'the second page never goes live');

    // The first publisher is unaffected; stopping it through REST ends the stream for everyone.
    const stop = await rest('POST', `/broadcasts/${id}/stop`);
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
    await waitUntil(async () => (await rest('GET', `/broadcasts/${id}`)).status === 404,
      { timeoutMs: 5000, what: 'the zombi broadcast to go away' });
    for (const p of [publisher, player, second]) assert.deepEqual(p.pageErrors, [], `${p.label}: page errors`);
  });
});
