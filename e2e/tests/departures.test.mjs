// Ways a publisher leaves, with Chromium and the official SDK (README.md, "When a peer leaves"), timed from the
// event to its player's play_finished, on an app whose restore window is 1.5 s:
//   - the page closes its RTCPeerConnection while its WebSocket stays open (DTLS close_notify, SCTP abort):
//     noticed at once, play_finished after the window;
//   - the publishing browser's network vanishes (it sits in a network namespace whose link goes down; its
//     WebSocket is never closed): noticed 4 s after its last packet, play_finished after the window;
//   - the publishing browser is killed (kill -9: its sockets drop with it) or its tab is closed: noticed at
//     once, play_finished after the window;
//   - a room participant (conference.html, as Ant Media's conference sample) closes its publishing peer
//     connection, or its network vanishes: the others get subtrackRemoved after the same times, keep decoding
//     each other and never get play_finished for the room;
//   - a peer-to-peer peer's network vanishes: only its socket showed it was there; it stops answering pings
//     and the other peer gets `stop` 4 s later.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { startTern } from '../lib/tern-server.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { createNetns } from '../lib/netns.mjs';
import { withTimeout, waitUntil } from '../lib/poll.mjs';
import { waitForRemoteVideos, assertRemoteTracks } from '../lib/room-checks.mjs';
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

const linkDown = () => promisify(execFile)('ip', ['-n', ns.name, 'link', 'set', ns.nsIf, 'down']);

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
    // The SDK would stop and republish a closed publisher some 3 s after its publish (its own reconnection),
    // which ends the stream as `stop` does: turned off, so the server's own detection is what is timed.
    await pub.page.evaluate((sid) => { window.adaptor.reconnectIfRequiredFlag = false; window.adaptor.remotePeerConnection[sid].close(); }, id);
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

/** A Chromium of its own, and how to kill -9 it: its main process leads the process group playwright made. */
async function killableBrowser() {
  const tag = `tern-kill-${process.pid}-${Date.now()}`;
  const b = await launchChromium({ extraArgs: [`--tern-test-tag=${tag}`] });
  const { stdout } = await promisify(execFile)('pgrep', ['-o', '-f', '--', `--tern-test-tag=${tag}`]);
  const pid = Number(stdout.trim());
  assert.ok(pid > 0, `no process found for ${tag}`);
  return {
    browser: b,
    kill: () => { try { process.kill(-pid, 'SIGKILL'); } catch (e) { if (e.code !== 'ESRCH') throw e; } },
  };
}

test('the publishing browser is killed (kill -9): play_finished after the restore window', { timeout: 60_000 }, async (t) => {
  const victim = await killableBrowser();
  try {
    await guard('departure-kill-9', async () => {
      const id = uniqueStreamId('killed');
      // Not in `pages`: its browser will be gone when the guard closes pages.
      const pub = await openParticipant(victim.browser, web.pageUrl('publish.html', { ws: server.wsUrl(APP), id }), 'publisher-killed');
      await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
      const player = await playerOf(id);
      const killedAt = Date.now();
      victim.kill();
      await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 15_000 });
      const took = Date.now() - killedAt;
      t.diagnostic(`kill -9 -> play_finished ${took} ms (window ${WINDOW_MS} ms)`);
      assert.ok(took >= WINDOW_MS - 300 && took <= WINDOW_MS + 2500, `play_finished ${took} ms after kill -9`);
    });
  } finally {
    victim.kill();
    await withTimeout(victim.browser.close(), 5_000, 'killed browser.close').catch(() => {});
  }
});

test('the publishing tab is closed: play_finished after the restore window', { timeout: 60_000 }, async (t) => {
  await guard('departure-tab-closed', async () => {
    const id = uniqueStreamId('tab');
    const pub = await open(browser, 'publish.html', { ws: server.wsUrl(APP), id }, 'publisher');
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const player = await playerOf(id);
    const closedAt = Date.now();
    await pub.page.close();
    await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 15_000 });
    const took = Date.now() - closedAt;
    t.diagnostic(`tab closed -> play_finished ${took} ms (window ${WINDOW_MS} ms)`);
    assert.ok(took >= WINDOW_MS - 300 && took <= WINDOW_MS + 2500, `play_finished ${took} ms after the tab closed`);
  });
});

/** Three conference participants: A and B stay, C (in `cBrowser`, from `cHost`) is the one who leaves. */
async function room3(prefix, cBrowser, cHost) {
  const room = uniqueStreamId(`${prefix}room`);
  const ids = { a: uniqueStreamId(`${prefix}a`), b: uniqueStreamId(`${prefix}b`), c: uniqueStreamId(`${prefix}c`) };
  const at = (k, b, host) => open(b, 'conference.html', { ws: server.wsUrl(APP, host), id: ids[k], room, label: `participant-${k}` }, `participant-${k}`, host);
  const p = { a: await at('a', browser), b: await at('b', browser), c: await at('c', cBrowser, cHost) };
  for (const k of ['a', 'b']) await waitForRemoteVideos(p[k], Object.values(ids).filter((x) => x !== ids[k]), 30_000);
  return { room, ids, p };
}

/** After C went away at `since`: A and B get subtrackRemoved for C, keep decoding each other, no play_finished. */
async function othersStay(t, { room, ids, p }, since, what, lowMs, highMs) {
  const times = await Promise.all(['a', 'b'].map(async (k) => {
    await p[k].waitForEvent('subtrackRemoved', { kind: 'callback', timeoutMs: highMs + 5_000, match: (d) => d?.trackId === ids.c });
    return Date.now() - since;
  }));
  for (const [i, k] of ['a', 'b'].entries()) {
    t.diagnostic(`${what} -> ${p[k].label} subtrackRemoved ${times[i]} ms`);
    assert.ok(times[i] >= lowMs && times[i] <= highMs, `${p[k].label}: subtrackRemoved ${times[i]} ms after ${what}`);
  }
  await assertRemoteTracks(p.a, { flowing: [ids.b], gapMs: 1500 });
  await assertRemoteTracks(p.b, { flowing: [ids.a], gapMs: 1500 });
  for (const k of ['a', 'b']) {
    const finished = (await p[k].events()).filter((e) => e.name === 'play_finished' && e.data?.streamId === room);
    assert.deepEqual(finished, [], `${p[k].label}: play_finished for the room`);
  }
}

test('a room participant closes its publishing peer connection: the others drop it after the window and stay', { timeout: 90_000 }, async (t) => {
  await guard('departure-room-pc-close', async () => {
    const r = await room3('rpc', browser);
    const closedAt = Date.now();
    await r.p.c.page.evaluate((sid) => { window.adaptor.reconnectIfRequiredFlag = false; window.adaptor.remotePeerConnection[sid].close(); }, r.ids.c);
    await othersStay(t, r, closedAt, 'pc.close()', WINDOW_MS - 300, WINDOW_MS + 3000);
  });
});

test('a room participant\'s network vanishes: the others drop it 4 s + the window later and stay', { timeout: 90_000 }, async (t) => {
  await guard('departure-room-network-gone', async () => {
    const r = await room3('rnet', nsBrowser, ns.hostAddr);
    await linkDown();
    const goneAt = Date.now();
    await othersStay(t, r, goneAt, 'network gone', 4000 + WINDOW_MS - 500, 4000 + WINDOW_MS + 3000);
  });
});

test('a peer-to-peer peer\'s network vanishes: the other gets stop 4 s later', { timeout: 60_000 }, async (t) => {
  await guard('departure-p2p-network-gone', async () => {
    const id = uniqueStreamId('p2pgone');
    const a = await open(browser, 'p2p.html', { ws: server.wsUrl(APP), id }, 'peer-a');
    await a.waitForEvent('joined', { kind: 'callback', timeoutMs: 10_000 });
    const b = await open(nsBrowser, 'p2p.html', { ws: server.wsUrl(APP, ns.hostAddr), id }, 'peer-b-netns', ns.hostAddr);
    await b.waitForEvent('joined', { kind: 'callback', timeoutMs: 10_000 });
    const stops = () => a.signaling().filter((f) => f.dir === 'recv' && f.msg?.command === 'stop' && f.msg.streamId === id);
    await waitUntil(() => a.signaling().some((f) => f.dir === 'recv' && f.msg?.command === 'start'), { timeoutMs: 10_000, what: 'peer-a: start' });
    await linkDown();
    const goneAt = Date.now();
    await waitUntil(() => stops().length > 0, { timeoutMs: 12_000, what: 'peer-a: stop after peer-b vanished' });
    const took = Date.now() - goneAt;
    t.diagnostic(`network gone -> the other peer's stop ${took} ms`);
    assert.ok(took >= 3000 && took <= 7000, `stop ${took} ms after the network went`);
  });
});
