#!/usr/bin/env node
// Benchmark (not a test): does tern give memory back after many publish/play/stop cycles, and how long does
// a player's video stop when its publisher's connection drops and the SDK restores the session?
//
//   node bench/cycles.mjs [--cycles 1000] [--browser-cycles 20] [--drop-runs 5]
//
// 1. Signaling cycles over plain WebSockets from node (no media): a publisher socket sends publish (-> start),
//    a player socket sends play for the same new id (-> no_stream_exist), the publisher sends stop
//    (-> publish_finished), the player sends stop, both sockets close. The server's VmRSS is printed after
//    10, 100, 500 and 1000 cycles (and the SQLite files' size).
// 2. Browser cycles (real media, official SDK pages): a publisher page goes live, a player page decodes
//    video, the publisher stops, the player gets play_finished, both pages close. RSS after each step.
// 3. Drop -> decoding again: the publisher page's WebSocket goes through a TCP relay that resets it; the SDK
//    re-publishes and gets session_restored; the player's framesDecoded (sampled every 50 ms in the page)
//    shows how long video stopped.
// Node 20 has WebSocket only behind --experimental-websocket: the script re-runs itself with it if needed.
import { spawnSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

if (typeof WebSocket === 'undefined') {
  const r = spawnSync(process.execPath, ['--experimental-websocket', '--no-warnings', ...process.execArgv,
    fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { startTern } = await import('../e2e/lib/tern-server.mjs');
const { startStaticServer } = await import('../e2e/lib/static-server.mjs');
const { launchChromium } = await import('../e2e/lib/chromium.mjs');
const { openParticipant } = await import('../e2e/lib/participant.mjs');
const { rssMiB, summary } = await import('../e2e/lib/proc-stats.mjs');
const { sleep, waitUntil, withTimeout } = await import('../e2e/lib/poll.mjs');
const { uniqueStreamId } = await import('../e2e/lib/test-env.mjs');
const { startTcpProxy } = await import('../e2e/lib/tcp-proxy.mjs');
const { startFrameLog, readFrameLog, analyseStall } = await import('../e2e/lib/frame-log.mjs');

const { values: opt } = parseArgs({
  options: {
    cycles: { type: 'string', default: '1000' },
    'browser-cycles': { type: 'string', default: '20' },
    'drop-runs': { type: 'string', default: '5' },
  },
});
const CYCLES = Number(opt.cycles);
const BROWSER_CYCLES = Number(opt['browser-cycles']);
const DROP_RUNS = Number(opt['drop-runs']);
// Cycles open sockets from one address faster than the default rate limit allows.
const CONFIG = 'shutdown_drain_ms = 200\nnew_sockets_per_second = 100000\n';

// ---------- a small promise-based WebSocket client ----------
function connect(url, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const inbox = [];
    const waiters = [];
    let closed = null;
    const timer = setTimeout(() => reject(new Error(`connect ${url}: no open within ${timeoutMs} ms`)), timeoutMs);
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { msg = { unparsed: String(e.data) }; }
      inbox.push(msg);
      for (const w of waiters.splice(0)) w();
    };
    ws.onclose = (e) => {
      closed = { code: e.code, reason: e.reason };
      for (const w of waiters.splice(0)) w();
    };
    ws.onerror = () => {};
    ws.onopen = () => {
      clearTimeout(timer);
      resolve({
        send(obj) { ws.send(JSON.stringify(obj)); },
        /** First message (from the start of the socket) matching `pred`, removed from the inbox. */
        async next(pred, what, ms = 5000) {
          const deadline = Date.now() + ms;
          for (;;) {
            const i = inbox.findIndex(pred);
            if (i >= 0) return inbox.splice(i, 1)[0];
            if (closed) throw new Error(`${what}: socket closed (${JSON.stringify(closed)}); inbox ${JSON.stringify(inbox)}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`${what}: nothing within ${ms} ms; inbox ${JSON.stringify(inbox)}`);
            await new Promise((r) => { waiters.push(r); setTimeout(r, left); });
          }
        },
        close(ms = 5000) {
          if (closed) return Promise.resolve(closed);
          ws.close(1000);
          return waitUntil(() => closed, { timeoutMs: ms, intervalMs: 5, what: 'socket close' });
        },
      });
    };
  });
}

const isDef = (command, definition) => (m) => m.command === command && (definition == null || m.definition === definition);

async function signalingCycle(server, replies) {
  const id = uniqueStreamId('cyc');
  const pub = await connect(server.wsUrl());
  const ply = await connect(server.wsUrl());
  try {
    pub.send({ command: 'publish', streamId: id });
    await pub.next(isDef('start'), 'start');
    ply.send({ command: 'play', streamId: id });
    const r = await ply.next((m) => m.command === 'error' || m.command === 'notification' || m.command === 'takeConfiguration', 'play reply');
    const key = `${r.command}/${r.definition ?? ''}`;
    replies[key] = (replies[key] ?? 0) + 1;
    pub.send({ command: 'stop', streamId: id });
    await pub.next(isDef('notification', 'publish_finished'), 'publish_finished');
    ply.send({ command: 'stop', streamId: id });
  } finally {
    await pub.close();
    await ply.close();
  }
}

async function dbBytes(dir) {
  let n = 0;
  for (const f of await readdir(dir)) if (f.startsWith('tern.db')) n += (await stat(path.join(dir, f))).size;
  return n;
}

const fmt = (x) => (x == null ? '-' : x.toFixed(1));

// ---------- 1. signaling cycles ----------
async function signalingPart() {
  const server = await startTern({ configToml: CONFIG });
  const marks = new Set([10, 100, 500, 1000, CYCLES].filter((n) => n <= CYCLES));
  const rows = [];
  const replies = {};
  try {
    rows.push({ cycles: 0, rss: await rssMiB(server.pid), db: await dbBytes(server.dataDir), ms: 0 });
    const t0 = Date.now();
    for (let i = 1; i <= CYCLES; i++) {
      await signalingCycle(server, replies);
      if (marks.has(i)) {
        await sleep(300); // let closed sessions be reaped
        rows.push({ cycles: i, rss: await rssMiB(server.pid), db: await dbBytes(server.dataDir), ms: Date.now() - t0 });
      }
    }
    const list = await server.rest('GET', '/broadcasts/list/0/100');
    const left = Array.isArray(list.json) ? list.json.length : `HTTP ${list.status}`;
    console.log('\n== signaling cycles (publish -> start, play -> reply, stop -> publish_finished, stop, close both) ==');
    console.log('cycles   VmRSS MiB   tern.db* KiB   elapsed s');
    for (const r of rows) console.log(`${String(r.cycles).padStart(6)}   ${fmt(r.rss).padStart(9)}   ${(r.db / 1024).toFixed(0).padStart(12)}   ${(r.ms / 1000).toFixed(1).padStart(9)}`);
    const at10 = rows.find((r) => r.cycles === 10);
    const last = rows[rows.length - 1];
    if (at10) console.log(`RSS after ${last.cycles} cycles - after 10: ${fmt(last.rss - at10.rss)} MiB`);
    console.log(`play replies: ${JSON.stringify(replies)}; broadcasts listed by REST afterwards: ${left}`);
    return { rows, replies, broadcastsLeft: left };
  } finally {
    await server.stop();
  }
}

// ---------- 2 and 3. browser parts ----------
async function browserParts() {
  const server = await startTern({ configToml: CONFIG });
  const web = await startStaticServer();
  const browser = await launchChromium();
  const proxy = await startTcpProxy(server.httpPort);
  const out = { cycles: [], drops: [] };
  const open = (page, id, label, ws = server.wsUrl()) => openParticipant(browser, web.pageUrl(page, { ws, id }), label);
  try {
    // 2. real publish/play/stop cycles
    const marks = new Set([1, 5, 10, 20, 50, 100, BROWSER_CYCLES].filter((n) => n <= BROWSER_CYCLES));
    const rss0 = await rssMiB(server.pid);
    const t0 = Date.now();
    for (let i = 1; i <= BROWSER_CYCLES; i++) {
      const id = uniqueStreamId('bcyc');
      const pub = await open('publish.html', id, 'publisher');
      const ply = await open('play.html', id, 'player');
      try {
        await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
        await waitUntil(async () => (await ply.stats())?.video?.framesDecoded > 0, { timeoutMs: 15_000, what: 'player frames' });
        await pub.page.evaluate(() => window.stopPublishing());
        await ply.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
      } finally {
        await pub.close();
        await ply.close();
      }
      if (marks.has(i)) {
        await sleep(500);
        out.cycles.push({ cycles: i, rss: await rssMiB(server.pid), ms: Date.now() - t0 });
      }
    }
    console.log('\n== browser cycles (publisher page live, player decodes, stop, play_finished, pages closed) ==');
    console.log(`before: VmRSS ${fmt(rss0)} MiB`);
    console.log('cycles   VmRSS MiB   elapsed s');
    for (const r of out.cycles) console.log(`${String(r.cycles).padStart(6)}   ${fmt(r.rss).padStart(9)}   ${(r.ms / 1000).toFixed(1).padStart(9)}`);

    // 3. drop -> decoding again
    for (let i = 0; i < DROP_RUNS; i++) {
      const id = uniqueStreamId('bdrop');
      const pub = await open('publish.html', id, 'publisher', `ws://127.0.0.1:${proxy.port}/LiveApp/websocket`);
      const ply = await open('play.html', id, 'player');
      try {
        await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
        await waitUntil(async () => (await ply.stats())?.video?.framesDecoded > 0, { timeoutMs: 15_000, what: 'player frames' });
        await startFrameLog(ply);
        await sleep(1000);
        const dropAt = Date.now();
        proxy.dropAll();
        await pub.waitForEvent('session_restored', { kind: 'callback', timeoutMs: 12_000 });
        const restoredMs = Date.now() - dropAt;
        // Bounded: video that has not resumed 10 s after session_restored is reported as such.
        const deadline = Date.now() + 10_000;
        let stall;
        for (;;) {
          stall = analyseStall(await readFrameLog(ply), dropAt);
          if ((stall.resumedAt != null && Date.now() - stall.resumedAt > 500) || Date.now() > deadline) break;
          await sleep(100);
        }
        const finished = (await ply.events()).some((e) => e.name === 'play_finished');
        const ps = await ply.page.evaluate(async () => {
          const pc = window.adaptor.remotePeerConnection[window.streamId];
          let pli = null;
          if (pc) (await pc.getStats()).forEach((x) => { if (x.type === 'inbound-rtp' && x.kind === 'video') pli = x.pliCount; });
          return pli;
        });
        out.drops.push({ restoredMs, dropToResumeMs: stall.dropToResumeMs, stallMs: stall.stallMs, playFinished: finished,
          packetsAfterDrop: stall.packetsAfterDrop, framesAfterDrop: stall.framesAfterDrop, playerPlis: ps });
        await pub.page.evaluate(() => window.stopPublishing());
      } catch (e) {
        out.drops.push({ error: e.message.split('\n')[0] });
      } finally {
        await pub.close();
        await ply.close();
      }
    }
    console.log('\n== publisher network drop (socket reset) -> SDK republish -> session_restored -> player decoding ==');
    out.drops.forEach((d, i) => console.log(d.error ? `run ${i + 1}: ${d.error}`
      : `run ${i + 1}: drop -> session_restored ${d.restoredMs} ms, drop -> player decoding again ${d.dropToResumeMs == null ? `NOT within ${d.stallMs} ms (${d.packetsAfterDrop} video packets received since the drop)` : `${d.dropToResumeMs} ms`} (longest stall ${d.stallMs} ms, player sent ${d.playerPlis} PLIs in all)${d.playFinished ? ', player got play_finished!' : ''}`));
    const ok = out.drops.filter((d) => d.dropToResumeMs != null).map((d) => d.dropToResumeMs);
    const s = summary(ok);
    if (s.n) console.log(`drop -> decoding again: median ${s.median} ms, min ${s.min}, max ${s.max} (n=${s.n} of ${out.drops.length})`);
    return out;
  } finally {
    await proxy.close();
    await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
    await web.close();
    await server.stop();
  }
}

console.log(`tern: ${(await import('../e2e/lib/tern-server.mjs')).ternBinary()}`);
await signalingPart();
if (BROWSER_CYCLES > 0 || DROP_RUNS > 0) await browserParts();
