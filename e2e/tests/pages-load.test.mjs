// Harness self-check, no tern needed: both pages load the official SDK bundle without page errors, and the
// SDK really tries the WebSocket URL it is given (against a port where nothing listens it reports
// WebSocketNotConnected, and the socket URL carries the ?target= parameter the SDK adds).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { launchChromium } from '../lib/chromium.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';

let browser;
let web;

async function closedPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

before(async () => {
  web = await startStaticServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await web?.close();
});

for (const [page, target] of [['publish.html', 'origin'], ['play.html', 'edge']]) {
  test(`${page} loads the SDK and reports WebSocketNotConnected for a dead port`, { timeout: 30_000 }, async () => {
    const port = await closedPort();
    const ws = `ws://127.0.0.1:${port}/LiveApp/websocket`;
    const p = await openParticipant(browser, web.pageUrl(page, { ws, id: 'selfcheck1' }), page);
    try {
      const hasSdk = await p.page.evaluate(() => typeof window.webrtc_adaptor?.WebRTCAdaptor === 'function'
        && typeof window.SelfieSegmentation === 'function');
      assert.equal(hasSdk, true, 'SDK bundle or SelfieSegmentation global missing');
      const err = await p.waitForEvent('WebSocketNotConnected', { kind: 'error', timeoutMs: 10_000 });
      assert.equal(err.kind, 'error');
      const opened = p.frames.filter((f) => f.dir === 'open').map((f) => f.payload);
      assert.ok(opened.some((u) => u.startsWith(`ws://127.0.0.1:${port}/LiveApp/websocket`) && u.includes(`target=${target}`)),
        `expected a socket to ${ws}?target=${target}, saw ${JSON.stringify(opened)}`);
      assert.deepEqual(p.pageErrors, [], 'page errors');
      const names = (await p.events()).map((e) => e.name);
      assert.ok(!names.includes('initialized'), `"initialized" without a server: ${names}`);
    } catch (e) {
      await dumpEvidence(`pages-load-${page}`, [p]);
      throw e;
    } finally {
      await p.close();
    }
  });
}
