// ICE over TCP (issue #18): a viewer whose network drops all UDP still plays, over Tern's passive TCP candidate
// on the media port; where UDP works, ICE keeps choosing it. The viewer is a Chromium inside a network namespace
// (lib/netns.mjs) whose veth drops every UDP packet both ways (tc u32 filters) while TCP passes.
// Needs root (namespace, veth, tc). Tern listens on 0.0.0.0 and starts after the veth exists, so it announces the
// veth's address as a candidate (UDP and TCP).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns } from '../lib/netns.mjs';
import { startTern } from '../lib/tern-server.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { openTernPage } from '../lib/sdk-harness.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing, selectedPair } from '../lib/media-checks.mjs';
import { waitUntil, withTimeout } from '../lib/poll.mjs';

let ns;
let server;
let web;
let browser;
let nsBrowser;
const pages = [];

before(async () => {
  ns = await createNetns();
  // One media worker: its port is the one the ready line names.
  server = await startTern({ httpAddr: '0.0.0.0:0', mediaAddr: '0.0.0.0:0', extraArgs: ['--media-workers', '1'] });
  web = await startStaticServer({ host: '0.0.0.0' });
  browser = await launchChromium();
  nsBrowser = await launchChromium({ executablePath: ns.chromium });
});

after(async () => {
  for (const p of pages.splice(0)) await p.close();
  for (const b of [nsBrowser, browser]) if (b) await withTimeout(b.close(), 10_000, 'browser.close').catch(() => {});
  await web?.close();
  await server?.stop();
  await ns?.remove();
});

async function publish(id) {
  const p = await openTernPage(browser, web.pageUrl('tern-sdk.html', { ws: server.wsUrl() }), 'publisher');
  pages.push(p);
  await p.make('pub');
  await p.waitFor('pub', 'initialized');
  await p.call('pub', 'publish', id);
  await p.waitFor('pub', 'publish_started', { timeoutMs: 15_000 });
  return p;
}

async function namespacePlayer(id, label) {
  const url = web.pageUrl('play.html', { ws: server.wsUrl('LiveApp', ns.hostAddr), id }, ns.hostAddr);
  const p = await openParticipant(nsBrowser, url, label);
  pages.push(p);
  return p;
}

async function guard(name, fn) {
  try {
    return await fn();
  } catch (e) {
    await dumpEvidence(name, pages, server).catch((err) => process.stderr.write(`evidence dump failed: ${err}\n`));
    throw e;
  } finally {
    await ns?.unblockUdp();
    for (const p of pages.splice(0)) await p.close();
  }
}

test('where UDP works, the viewer plays over UDP (TCP is offered but ranks lower)', { timeout: 60_000 }, async () => {
  await guard('ice-tcp-udp-first', async () => {
    const id = uniqueStreamId('icetcp_udp');
    await publish(id);
    const b = await namespacePlayer(id, 'viewer-udp');
    await b.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(b, 15_000);
    // Chromium may use the first pair that answers (TCP, on a busy machine) and move to the better one as
    // its checks complete: wait for UDP, the pair that ranks first.
    let pair = null;
    await waitUntil(async () => {
      pair = await selectedPair(b);
      return pair?.protocol === 'udp';
    }, { timeoutMs: 10_000, what: 'viewer: the selected pair on UDP' }).catch(() => {});
    assert.equal(pair?.address, ns.hostAddr, `pair ${JSON.stringify(pair)}`);
    assert.equal(pair?.protocol, 'udp', `pair ${JSON.stringify(pair)}`);
    // Candidates come in the offer or trickled (takeCandidate).
    const received = b.signaling().filter((f) => f.dir === 'recv').map((f) => JSON.stringify(f.msg)).join('\n');
    assert.match(received, /candidate:\S+ 1 tcp \d+ \S+ \d+ typ host tcptype passive/, 'Tern offers a passive TCP candidate');
  });
});

test('a viewer whose network drops all UDP plays over ICE-TCP', { timeout: 90_000 }, async () => {
  await guard('ice-tcp-no-udp', async () => {
    const id = uniqueStreamId('icetcp');
    await publish(id);
    await ns.blockUdp();
    const b = await namespacePlayer(id, 'viewer-tcp-only');
    await b.waitForEvent('play_started', { kind: 'callback', timeoutMs: 30_000 });
    await waitForFirstFrame(b, 30_000);
    const pair = await selectedPair(b);
    assert.equal(pair?.address, ns.hostAddr, `pair ${JSON.stringify(pair)}`);
    assert.equal(pair?.protocol, 'tcp', `pair ${JSON.stringify(pair)}`);
    assert.equal(pair?.port, server.mediaPort, `the TCP candidate is on the media port: ${JSON.stringify(pair)}`);
    await assertMediaFlowing(b, { gapMs: 1500, audio: true });
    assert.deepEqual((await b.events()).filter((e) => e.kind === 'error').map((e) => e.name), [], 'viewer SDK errors');
  });
});
