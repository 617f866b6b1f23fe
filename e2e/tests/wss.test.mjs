// TLS: tern started with --tls-cert/--tls-key serves HTTPS and WSS on its HTTP port. A page on the official
// SDK publishes over wss://localhost:PORT/LiveApp/websocket and another plays it; Tern's own play sample,
// loaded over https://localhost:PORT/LiveApp/, plays the same stream over WSS. Chromium is told to accept
// the self-signed certificate (--ignore-certificate-errors, in this file only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { makeSelfSignedCert } from '../lib/tls-cert.mjs';
import { openParticipant } from '../lib/participant.mjs';
import { ternRequest } from '../lib/tern-server.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { waitUntil } from '../lib/poll.mjs';

let env;
let cert;
const id = uniqueStreamId('wss');
let publisher;

before(async () => {
  cert = await makeSelfSignedCert();
  env = await startTestEnv({
    configToml: 'shutdown_drain_ms = 200\n',
    ternOpts: { tls: { cert: cert.cert, key: cert.key } },
    chromium: { extraArgs: ['--ignore-certificate-errors'] },
  });
});
after(async () => {
  await env?.close();
  await cert?.remove();
});

/** URLs of the WebSockets a page opened. */
const socketUrls = (p) => p.frames.filter((f) => f.dir === 'open').map((f) => f.payload);

test('tern with a certificate: the ready line says tls, /healthz answers over HTTPS only', { timeout: 20_000 }, async (t) => {
  assert.equal(env.server.tls, true, `ready line: ${env.server.stdout()}`);
  const res = await ternRequest({ port: env.server.httpPort, tls: true, path: '/healthz' });
  assert.equal(res.status, 200, `GET https://…/healthz: ${res.status} ${res.text}`);
  // A plain-HTTP request on the TLS port gets no HTTP answer.
  const plain = await ternRequest({ port: env.server.httpPort, tls: false, path: '/healthz', timeoutMs: 3000 })
    .then((r) => `HTTP ${r.status}`, (e) => `error ${e.code ?? e.message}`);
  t.diagnostic(`plain HTTP on the TLS port: ${plain}`);
  assert.ok(!/^HTTP 200/.test(plain), `plain HTTP on the TLS port answered: ${plain}`);
});

test('official SDK: publish and play over wss://; the player decodes video and receives audio', { timeout: 60_000 }, async (t) => {
  await env.guard('wss-publish-play', async () => {
    publisher = await env.publisher(id);
    const started = await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    assert.equal(started.data?.streamId, id);
    const player = await env.player(id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(player, 15_000);
    const flow = await assertMediaFlowing(player, { gapMs: 1200, audio: true });
    t.diagnostic(`player over wss: ${JSON.stringify(flow.after)}`);
    for (const p of [publisher, player]) {
      const urls = socketUrls(p);
      assert.ok(urls.length >= 1 && urls.every((u) => u.startsWith(`wss://localhost:${env.server.httpPort}/LiveApp/websocket`)),
        `${p.label} sockets: ${JSON.stringify(urls)}`);
      assert.deepEqual(p.pageErrors, [], `${p.label}: page errors`);
      const errors = (await p.events()).filter((e) => e.kind === 'error').map((e) => e.name);
      assert.deepEqual(errors, [], `${p.label}: SDK errors`);
    }
  });
});

test("Tern's play sample loaded over https:// plays the stream over wss://", { timeout: 45_000 }, async () => {
  await env.guard('wss-tern-sample', async () => {
    assert.ok(publisher, 'the previous test did not start the publisher');
    const url = `${env.server.baseUrl()}/LiveApp/play.html?id=${encodeURIComponent(id)}&autoplay=1`;
    const sample = await openParticipant(env.browser, url, 'tern-play-sample');
    env.participants.push(sample);
    await sample.page.waitForFunction(() => window.sample != null, null, { timeout: 10_000 });
    await waitUntil(() => sample.page.evaluate(async () => {
      const v = document.querySelector('#remoteVideo');
      if (!v || !v.videoWidth) return false;
      const t0 = v.currentTime;
      await new Promise((r) => setTimeout(r, 300));
      return v.currentTime > t0;
    }), { timeoutMs: 20_000, what: 'the sample\'s #remoteVideo playing' });
    const urls = socketUrls(sample);
    assert.ok(urls.length >= 1 && urls.every((u) => u.startsWith(`wss://localhost:${env.server.httpPort}/LiveApp/websocket`)),
      `sample sockets: ${JSON.stringify(urls)}`);
    assert.deepEqual(sample.pageErrors, [], 'sample page errors');
    assert.ok(sample.page.url().startsWith('https://localhost:'), sample.page.url());
  });
});
