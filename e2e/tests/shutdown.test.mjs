// Graceful shutdown (PROTOCOL.md §4.8): on SIGTERM every session (a publisher and a player page on the
// official SDK, and a plain WebSocket that ignores the notice) gets
// {"command":"notification","definition":"server_will_stop"}; tern waits up to shutdown_drain_ms (less once
// every session has gone: the SDK closes its socket on the notice), closes the sockets and exits 0. And a crash: tern is killed with SIGKILL while
// streams are live; started again on the same data dir, the store no longer shows them broadcasting.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTern } from '../lib/tern-server.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { waitUntil, withTimeout } from '../lib/poll.mjs';

const DRAIN_MS = 1500;
let web;
let browser;
let pages = [];
let servers = [];

before(async () => {
  web = await startStaticServer();
  browser = await launchChromium();
});
after(async () => {
  await withTimeout(browser?.close() ?? Promise.resolve(), 10_000, 'browser.close').catch(() => {});
  await web?.close();
});
afterEach(async () => {
  for (const p of pages.splice(0)) await p.close();
  for (const s of servers.splice(0)) await s.stop();
});

async function tern(opts) {
  const s = await startTern(opts);
  servers.push(s);
  return s;
}

async function open(server, page, id, label) {
  const p = await openParticipant(browser, web.pageUrl(page, { ws: server.wsUrl(), id }), label);
  pages.push(p);
  return p;
}

/** Run `fn`; on failure write the pages' evidence and the stderr of `server()` (the one that matters). */
async function guard(name, server, fn) {
  try {
    return await fn();
  } catch (e) {
    await dumpEvidence(name, pages, server()).catch((err) => process.stderr.write(`evidence dump failed: ${err}\n`));
    throw e;
  }
}

const willStop = (p) => p.signaling().filter((f) => f.dir === 'recv' && f.msg?.command === 'notification' && f.msg?.definition === 'server_will_stop');

test(`SIGTERM: publisher and player get server_will_stop; tern drains ${DRAIN_MS} ms and exits 0`, { timeout: 60_000 }, async (t) => {
  let server;
  await guard('shutdown-sigterm', () => server, async () => {
    server = await tern({ configToml: `shutdown_drain_ms = ${DRAIN_MS}\n` });
    const id = uniqueStreamId('bye');
    const publisher = await open(server, 'publish.html', id, 'publisher');
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const player = await open(server, 'play.html', id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(player, 15_000);
    await assertMediaFlowing(player, { gapMs: 1000, audio: false });
    // A session that stays after the notice: tern must keep it for the drain, then close it.
    const raw = await open(server, 'raw.html', 'none', 'raw-socket');
    await raw.page.evaluate(() => window.raw.open('s'));
    const socketsBefore = Object.fromEntries([publisher, player].map((p) => [p.label, p.frames.filter((f) => f.dir === 'open').length]));

    const t0 = Date.now();
    server.kill('SIGTERM');
    for (const p of [publisher, player, raw]) {
      await waitUntil(() => willStop(p).length > 0, { timeoutMs: 3000, what: `${p.label}: server_will_stop frame` });
      if (p !== raw) await p.waitForEvent('server_will_stop', { kind: 'callback', timeoutMs: 2000 });
    }
    const exit = await server.waitExit(DRAIN_MS + 4000);
    const exitMs = Date.now() - t0;
    for (const p of [publisher, player]) {
      const first = willStop(p)[0];
      t.diagnostic(`${p.label}: server_will_stop ${first.t - t0} ms after SIGTERM: ${JSON.stringify(first.msg)}; sockets opened ${socketsBefore[p.label]} before, ${p.frames.filter((f) => f.dir === 'open').length} in all`);
      const at = p.frames.findIndex((f) => f.dir === 'recv' && f.payload.includes('server_will_stop'));
      const later = p.frames.slice(at + 1)
        .map((f) => { let m = null; try { m = JSON.parse(f.payload); } catch { /* not JSON */ } return `${f.t - t0}ms ${f.dir}${m ? ' ' + m.command + (m.definition ? '/' + m.definition : '') : ''}`; })
        .filter((x) => !/ ping$| pong$/.test(x));
      t.diagnostic(`${p.label} after server_will_stop: ${later.join(', ')}`);
      assert.equal(first.msg.command, 'notification');
      assert.ok(first.t - t0 < 1000, `${p.label}: server_will_stop only ${first.t - t0} ms after SIGTERM`);
    }
    const rawWillStop = willStop(raw)[0];
    assert.ok(rawWillStop.t - t0 < 1000, `plain socket: server_will_stop only ${rawWillStop.t - t0} ms after SIGTERM`);
    t.diagnostic(`tern exited ${exitMs} ms after SIGTERM: ${JSON.stringify(exit)}`);
    assert.ok(exit, `tern still running ${DRAIN_MS + 4000} ms after SIGTERM (drain ${DRAIN_MS} ms)`);
    assert.deepEqual(exit, { code: 0, signal: null }, 'exit status after SIGTERM');
    assert.ok(exitMs >= DRAIN_MS - 200, `tern exited ${exitMs} ms after SIGTERM, before the ${DRAIN_MS} ms drain`);
    assert.ok(exitMs <= DRAIN_MS + 2500, `tern took ${exitMs} ms to exit (drain ${DRAIN_MS} ms)`);
    // The page hears of the close a moment after tern exits: wait for it (bounded), then judge its time.
    const rawClose = await waitUntil(() => raw.frames.find((f) => f.dir === 'close'), { timeoutMs: 3000, what: 'plain socket: close' })
      .catch(() => null);
    t.diagnostic(`plain socket closed by tern ${rawClose ? rawClose.t - t0 : 'never'} ms after SIGTERM`);
    assert.ok(rawClose && rawClose.t - t0 >= DRAIN_MS - 200, `the plain socket was closed ${rawClose ? rawClose.t - t0 : 'never'} ms after SIGTERM, before the drain ended`);
    // Every socket the pages had is closed by now.
    await waitUntil(() => [publisher, player, raw].every((p) => {
      const opened = p.frames.filter((f) => f.dir === 'open').length;
      const closed = p.frames.filter((f) => f.dir === 'close').length;
      return closed >= opened;
    }), { timeoutMs: 3000, what: 'every page socket closed after the exit' });
  });
});

test('SIGKILL with live streams, restart on the same data dir: the streams are no longer broadcasting', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-crash-'));
  let server;
  try {
    await guard('shutdown-kill9-restart', () => server, async () => {
      server = await tern({ dataDir, configToml: 'shutdown_drain_ms = 200\n' });
      const created = uniqueStreamId('made'); // registered through REST first (kept when it ends)
      const implicit = uniqueStreamId('zomb'); // created by the publish itself (a "zombi" broadcast)
      const c = await server.rest('POST', '/broadcasts/create', { streamId: created });
      assert.equal(c.status, 200, `create: ${c.status} ${c.text}`);
      for (const id of [created, implicit]) {
        const pub = await open(server, 'publish.html', id, `publisher-${id.slice(0, 4)}`);
        await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
      }
      for (const id of [created, implicit]) {
        const r = await waitUntil(async () => {
          const x = await server.rest('GET', `/broadcasts/${id}`);
          return x.json?.status === 'broadcasting' ? x : null;
        }, { timeoutMs: 5000, what: `REST status broadcasting for ${id}` });
        t.diagnostic(`live: ${id} status=${r.json.status} zombi=${r.json.zombi}`);
      }

      server.kill('SIGKILL');
      const exit = await server.waitExit(5000);
      assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
      for (const p of pages.splice(0)) await p.close();

      server = await tern({ dataDir, configToml: 'shutdown_drain_ms = 200\n' });
      const a = await server.rest('GET', `/broadcasts/${created}`);
      t.diagnostic(`after restart: ${created} -> ${a.status} status=${a.json?.status}`);
      assert.equal(a.status, 200, `GET ${created} after the restart: ${a.status} ${a.text}`);
      assert.equal(a.json?.status, 'finished', `REST record of ${created} after kill -9 and restart: ${a.text}`);
      const b = await server.rest('GET', `/broadcasts/${implicit}`);
      t.diagnostic(`after restart: ${implicit} -> ${b.status} status=${b.json?.status}`);
      assert.ok(b.status === 404 || (b.status === 200 && b.json?.status !== 'broadcasting'),
        `REST record of ${implicit} (zombi) after kill -9 and restart: ${b.status} ${b.text}`);
      const list = await server.rest('GET', '/broadcasts/list/0/50');
      if (list.status === 200 && Array.isArray(list.json)) {
        const live = list.json.filter((x) => x.status === 'broadcasting').map((x) => x.streamId);
        assert.deepEqual(live, [], `broadcasts still "broadcasting" after the restart: ${JSON.stringify(live)}`);
      }
      assert.match(server.stderr(), /marked finished/, 'tern logs the streams it marked finished at start');
    });
  } finally {
    for (const s of servers.splice(0)) await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
