#!/usr/bin/env node
// Benchmark (not a test): how soon a picture appears, WHIP/WHEP beside the WebSocket path, in one run of one
// Tern and one Chromium, N times each (fresh pages every time):
//   ws-publish  the official SDK's publish (its `publish` frame sent) -> first decoded frame at a player
//               that was already waiting for the stream (play.html, told no_stream_exist, kept waiting)
//   whip        a whip-whep WHIPClient's POST (request sent) -> the same at an already-waiting player
//   ws-play     the official SDK's play (its `play` frame sent) -> its first decoded frame, stream live
//   whep        a whip-whep WHEPClient's POST -> its first decoded frame, stream live
// Every time is taken in this process (page events as playwright reports them, decoding by polling getStats
// every 20 ms), so all four carry the same measuring overhead and compare as ratios.
//
//   node bench/whip_latency.mjs [--runs 20]
//
// Uses the e2e harness (run `npm ci` in e2e/ first) and target/release/tern. Prints median and p95 per
// scenario and writes JSON to $TMPDIR/tern-bench/whip_latency.json.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTern } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant } from '../e2e/lib/participant.mjs';
import { sleep, waitUntil, withTimeout } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const RUNS = Number(opt.runs);
const APP = 'LiveApp';
const log = (...a) => console.error('[bench]', ...a);

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return { n: 0, median: null, p95: null };
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0], max: s[s.length - 1] };
}

/** Node-side time of the first WebSocket frame the page sent with this command. */
function sentAt(p, command) {
  const f = p.frames.find((x) => x.dir === 'sent' && x.payload.includes(`"command":"${command}"`));
  return f ? f.t : null;
}

/** Node-side time at which the page's stream first has a decoded video frame (polled every 20 ms). */
async function decodedAt(p, what) {
  return waitUntil(async () => (((await p.stats().catch(() => null))?.video?.framesDecoded ?? 0) > 0 ? Date.now() : null),
    { timeoutMs: 20_000, intervalMs: 20, what });
}

/**
 * A whip.html/whep.html page in a fresh context, with the node-side time of its first POST to a URL
 * containing `part` (the listener is on before the page loads: the library POSTs while it starts).
 */
async function openWhipPage(browser, url, part) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  let postedAt = null;
  page.on('request', (r) => { if (postedAt == null && r.method() === 'POST' && r.url().includes(part)) postedAt = Date.now(); });
  await page.goto(url);
  return {
    postedAt: () => postedAt,
    stats: () => page.evaluate(() => window.readStats()),
    close: () => withTimeout(ctx.close(), 10_000, 'context.close').catch(() => {}),
  };
}

async function main() {
  // The app's STUN server is handed to WHIP/WHEP clients (Link header): a loopback one, nothing off this machine.
  const server = await startTern({ configToml: '[apps.LiveApp]\nstunServerURI = "stun:127.0.0.1:9"\n' });
  const web = await startStaticServer();
  const browser = await launchChromium();
  const open = (page, params, label) => openParticipant(browser, web.pageUrl(page, params), label);
  const results = { 'ws-publish': [], whip: [], 'ws-play': [], whep: [] };
  const errors = [];
  const pages = [];
  const closeAll = async () => { for (const p of pages.splice(0)) await p.close(); };
  try {
    for (let i = 1; i <= RUNS; i++) {
      for (const kind of ['ws-publish', 'whip']) {
        const id = uniqueStreamId(`lat_${kind.replace('-', '')}`);
        try {
          const player = await open('play.html', { ws: server.wsUrl(APP), id, retry: '0' }, `waiting-${kind}-${i}`);
          pages.push(player);
          await player.waitForEvent('no_stream_exist', { kind: 'error', timeoutMs: 10_000 });
          let t0;
          if (kind === 'whip') {
            const endpoint = `http://127.0.0.1:${server.httpPort}/${APP}/whip/${id}`;
            const whip = await openWhipPage(browser, web.pageUrl('whip.html', { ws: server.wsUrl(APP), id, endpoint }), '/whip/');
            pages.push(whip);
            const at = await decodedAt(player, `${kind} #${i}: decoded at the waiting player`);
            t0 = whip.postedAt();
            results[kind].push(at - t0);
          } else {
            const pub = await open('publish.html', { ws: server.wsUrl(APP), id }, `publisher-${i}`);
            pages.push(pub);
            const at = await decodedAt(player, `${kind} #${i}: decoded at the waiting player`);
            t0 = sentAt(pub, 'publish');
            results[kind].push(at - t0);
          }
          log(`${kind} #${i}: ${results[kind].at(-1)} ms`);
        } catch (e) {
          errors.push(`${kind} #${i}: ${e.message}`);
          log(`${kind} #${i}: ERROR ${e.message}`);
        } finally {
          await closeAll();
        }
      }
    }
    const id = uniqueStreamId('lat_live');
    const pub = await open('publish.html', { ws: server.wsUrl(APP), id }, 'publisher-live');
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    await sleep(1000);
    for (let i = 1; i <= RUNS; i++) {
      for (const kind of ['ws-play', 'whep']) {
        try {
          if (kind === 'whep') {
            const endpoint = `http://127.0.0.1:${server.httpPort}/${APP}/whep/${id}`;
            const whep = await openWhipPage(browser, web.pageUrl('whep.html', { ws: server.wsUrl(APP), id, endpoint }), '/whep/');
            pages.push(whep);
            const at = await decodedAt(whep, `whep #${i}: first decoded frame`);
            results[kind].push(at - whep.postedAt());
          } else {
            const p = await open('play.html', { ws: server.wsUrl(APP), id }, `player-${i}`);
            pages.push(p);
            const at = await decodedAt(p, `ws-play #${i}: first decoded frame`);
            results[kind].push(at - sentAt(p, 'play'));
          }
          log(`${kind} #${i}: ${results[kind].at(-1)} ms`);
        } catch (e) {
          errors.push(`${kind} #${i}: ${e.message}`);
          log(`${kind} #${i}: ERROR ${e.message}`);
        } finally {
          await closeAll();
        }
      }
    }
    await pub.close();
  } finally {
    await closeAll();
    await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
    await web.close();
    await server.stop();
  }
  const table = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, stats(v)]));
  console.log(`\nfirst decoded frame, ms (${RUNS} runs each, one Tern, one Chromium)`);
  console.log('scenario     median    p95    min    max   n');
  for (const [k, s] of Object.entries(table)) {
    console.log(`${k.padEnd(11)} ${String(s.median).padStart(7)} ${String(s.p95).padStart(6)} ${String(s.min).padStart(6)} ${String(s.max).padStart(6)} ${String(s.n).padStart(3)}`);
  }
  if (table.whip.median && table['ws-publish'].median) {
    console.log(`whip / ws-publish median: ${(table.whip.median / table['ws-publish'].median).toFixed(2)}`);
  }
  if (table.whep.median && table['ws-play'].median) {
    console.log(`whep / ws-play median:    ${(table.whep.median / table['ws-play'].median).toFixed(2)}`);
  }
  if (errors.length) console.log(`errors (${errors.length}):\n  ${errors.join('\n  ')}`);
  const dir = path.join(os.tmpdir(), 'tern-bench');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'whip_latency.json'), JSON.stringify({ runs: RUNS, table, results, errors }, null, 2));
}

main().catch((e) => { console.error(e); process.exit(1); });
