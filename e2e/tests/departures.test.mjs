// Ways a publisher leaves, with Chromium and the official SDK (README.md, "When a peer leaves"), timed from the
// event to its player's play_finished, on an app whose restore window is 1.5 s:
//   - the page closes its RTCPeerConnection while its WebSocket stays open (DTLS close_notify, SCTP abort):
//     noticed at once, play_finished after the window;
//   - the publishing browser's network vanishes (it sits in a network namespace whose link goes down; its
//     WebSocket is never closed): noticed 4 s after its last packet, play_finished after the window.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { startTern } from '../lib/tern-server.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { createNetns } from '../lib/netns.mjs';
import { withTimeout } from '../lib/poll.mjs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const WINDOW_MS = 1500;
const APP = 'ShortApp';
let ns;
let server;
let web;
let browser;
let nsBrowser;
const pages = [];

before(async () => {
  // The veth first: tern reads the interface addresses for its ICE candidates when it starts.
  ns = await createNetns();
  server = await startTern({
    httpAddr: '0.0.0.0:0',
    mediaAddr: '0.0.0.0:0',
    configToml: `[apps.${APP}]\nwebRTCClientStartTimeoutMs = ${WINDOW_MS}\n`,
  });
  web = await startStaticServer({ host: '0.0.0.0' });
  browser = await launchChromium();
  // The namespace's page comes from 10.213.<n>.1, which is no secure origin: the camera needs it treated as one.
  const origin = new URL(web.pageUrl('publish.html', {}, ns.hostAddr)).origin;
  nsBrowser = await launchChromium({ executablePath: ns.chromium, extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${origin}`] });
});

after(async () => {
  for (const p of pages.splice(0)) await p.close();
  for (const b of [nsBrowser, browser]) if (b) await withTimeout(b.close(), 10_000, 'browser.close').catch(() => {});
  await web?.close();
  await server?.stop();
  await ns?.remove();
});

async function open(b, page, params, label, host) {
  const p = await openParticipant(b, web.pageUrl(page, params, host), label);
  pages.push(p);
  return p;
}

async function guard(name, fn) {
  try {
    return await fn();
  } catch (e) {
    await dumpEvidence(name, pages, server).catch(() => {});
    throw e;
  } finally {
    await promisify(execFile)('ip', ['-n', ns.name, 'link', 'set', ns.nsIf, 'up']).catch(() => {});
    for (const p of pages.splice(0)) await p.close();
  }
}

async function playerOf(id) {
  const player = await open(browser, 'play.html', { ws: server.wsUrl(APP), id }, 'player');
  await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
  return player;
}

test('a page closes its peer connection with its socket open: play_finished after the restore window', { timeout: 60_000 }, async (t) => {
  await guard('departure-pc-close', async () => {
    const id = uniqueStreamId('pcclose');
    const pub = await open(browser, 'publish.html', { ws: server.wsUrl(APP), id }, 'publisher');
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const player = await playerOf(id);
    const closedAt = Date.now();
    await pub.page.evaluate((sid) => window.adaptor.remotePeerConnection[sid].close(), id);
    await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 15_000 });
    const took = Date.now() - closedAt;
    t.diagnostic(`pc.close() -> play_finished ${took} ms (window ${WINDOW_MS} ms)`);
    assert.ok(took >= WINDOW_MS - 300 && took <= WINDOW_MS + 2500, `play_finished ${took} ms after pc.close()`);
  });
});

test('a publisher whose network vanishes is noticed 4 s after its last packet', { timeout: 60_000 }, async (t) => {
  await guard('departure-network-gone', async () => {
    const id = uniqueStreamId('gone');
    const pub = await open(nsBrowser, 'publish.html', { ws: server.wsUrl(APP, ns.hostAddr), id }, 'publisher-netns', ns.hostAddr);
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const player = await playerOf(id);
    // The namespace's link goes down: from now on nothing it sends arrives (media, RTCP, STUN and the
    // WebSocket alike), and no FIN or reset closes its socket.
    await promisify(execFile)('ip', ['-n', ns.name, 'link', 'set', ns.nsIf, 'down']);
    const goneAt = Date.now();
    await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 20_000 });
    const took = Date.now() - goneAt;
    t.diagnostic(`network gone -> play_finished ${took} ms (4 s of silence, then the ${WINDOW_MS} ms window)`);
    assert.ok(took >= 4000 + WINDOW_MS - 500 && took <= 4000 + WINDOW_MS + 3000, `play_finished ${took} ms after the network went`);
  });
});
