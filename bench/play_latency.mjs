#!/usr/bin/env node
// Benchmark (not a test): play() -> first decoded frame latency for VP8 and H.264, then the server's CPU time
// and memory with 1 publisher + N players. Uses the e2e harness (e2e/lib) and its node_modules, so run
// `npm ci` in e2e/ first.
//
//   node bench/play_latency.mjs [--runs 10] [--players 10] [--seconds 30] [--load-app LiveApp]
//
// Prints a table and writes JSON to $TMPDIR/tern-bench/play_latency.json.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTern, ternBinary } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant, signalingSummary } from '../e2e/lib/participant.mjs';
import { sleep, waitUntil, withTimeout } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    players: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    'load-app': { type: 'string', default: 'LiveApp' },
  },
});
const RUNS = Number(opt.runs);
const LOAD_PLAYERS = Number(opt.players);
const LOAD_SECONDS = Number(opt.seconds);
const LOAD_APP = opt['load-app'];

const CONFIG_TOML = `# written by bench/play_latency.mjs
[apps.H264App]
vp8Enabled = false
h264Enabled = true
`;
const CODECS = [
  { name: 'VP8', app: 'LiveApp', expectMime: 'video/VP8' },
  { name: 'H.264', app: 'H264App', expectMime: 'video/H264' },
];

// ---------- /proc sampling of the server process ----------
const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** utime+stime of `pid` in seconds. */
async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[14 - 3]) + Number(rest[15 - 3])) / CLK_TCK;
}

/** VmRSS of `pid` in MiB. */
async function rssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---------- helpers ----------
function summary(values) {
  if (!values.length) return { n: 0, median: null, min: null, max: null };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, min: s[0], max: s[s.length - 1] };
}
const fmt = (v, d = 0) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(d));
const log = (...a) => console.error('[bench]', ...a);

async function openPublisher(ctx, app, label) {
  const id = uniqueStreamId(`bench_${app}`);
  const url = ctx.web.pageUrl('publish.html', { ws: ctx.server.wsUrl(app), id });
  const pub = await openParticipant(ctx.browser, url, label);
  await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
  return { id, pub };
}

/** One play() -> first frame measurement in a fresh browser context. */
async function measureOnce(ctx, app, id, label) {
  const url = ctx.web.pageUrl('play.html', { ws: ctx.server.wsUrl(app), id, firstFrame: '1' });
  const player = await openParticipant(ctx.browser, url, label);
  try {
    const ff = await waitUntil(
      () => player.page.evaluate(() => (window.firstFrame.statsAt != null ? window.firstFrame : null)),
      { timeoutMs: 20_000, intervalMs: 50, what: `${label}: first decoded frame` },
    );
    // Give requestVideoFrameCallback a moment if the frame was decoded but not yet presented.
    let ff2 = ff;
    if (ff.videoFrameAt == null) {
      ff2 = await waitUntil(() => player.page.evaluate(() => (window.firstFrame.videoFrameAt != null ? window.firstFrame : null)),
        { timeoutMs: 2_000, intervalMs: 20, what: 'rVFC' }).catch(() => ff);
    }
    const stats = await player.stats();
    const events = await player.events();
    const at = (pred) => { const e = events.find(pred); return e ? e.t - ff2.playCalledAt : null; };
    return {
      iceConnectedMs: at((e) => e.name === 'ice_connection_state_changed' && e.data?.state === 'connected'),
      playStartedMs: at((e) => e.name === 'play_started'),
      firstPacketMs: ff2.firstVideoPacketAt != null ? ff2.firstVideoPacketAt - ff2.playCalledAt : null,
      statsMs: ff2.statsAt - ff2.playCalledAt,
      videoFrameMs: ff2.videoFrameAt != null ? ff2.videoFrameAt - ff2.playCalledAt : null,
      codec: stats?.video?.codec ?? null,
      frameHeight: stats?.video?.frameHeight ?? null,
    };
  } catch (e) {
    return { error: e.message, signaling: signalingSummary(player).slice(0, 20) };
  } finally {
    await player.close();
  }
}

async function latencyRun(ctx, codec) {
  log(`${codec.name}: publisher on ${codec.app}`);
  const { id, pub } = await openPublisher(ctx, codec.app, `publisher-${codec.name}`);
  await sleep(1000);
  const runs = [];
  for (let i = 1; i <= RUNS; i++) {
    const r = await measureOnce(ctx, codec.app, id, `player-${codec.name}-${i}`);
    runs.push(r);
    log(`${codec.name} #${i}: ${r.error ? 'ERROR ' + r.error : `first frame ${fmt(r.statsMs)} ms (getStats), ${fmt(r.videoFrameMs)} ms (rVFC); `
      + `ICE connected ${fmt(r.iceConnectedMs)}, play_started ${fmt(r.playStartedMs)}, first video packet ${fmt(r.firstPacketMs)} ms; ${r.codec}`}`);
  }
  await pub.close();
  const ok = runs.filter((r) => !r.error);
  const codecsSeen = [...new Set(ok.map((r) => r.codec))];
  return {
    codec: codec.name,
    app: codec.app,
    runs,
    failures: runs.length - ok.length,
    codecsSeen,
    codecAsExpected: codecsSeen.length === 1 && codecsSeen[0] === codec.expectMime,
    iceConnectedMs: summary(ok.filter((r) => r.iceConnectedMs != null).map((r) => r.iceConnectedMs)),
    playStartedMs: summary(ok.filter((r) => r.playStartedMs != null).map((r) => r.playStartedMs)),
    firstPacketMs: summary(ok.filter((r) => r.firstPacketMs != null).map((r) => r.firstPacketMs)),
    statsMs: summary(ok.map((r) => r.statsMs)),
    videoFrameMs: summary(ok.filter((r) => r.videoFrameMs != null).map((r) => r.videoFrameMs)),
  };
}

async function loadRun(ctx) {
  const pid = ctx.server.pid;
  log(`load: 1 publisher + ${LOAD_PLAYERS} players on ${LOAD_APP} for ${LOAD_SECONDS} s`);
  const idleCpu0 = await cpuSeconds(pid);
  await sleep(3000);
  const idleCpuPct = ((await cpuSeconds(pid)) - idleCpu0) / 3 * 100;

  const { id, pub } = await openPublisher(ctx, LOAD_APP, 'load-publisher');
  const players = [];
  try {
    for (let i = 1; i <= LOAD_PLAYERS; i++) {
      const url = ctx.web.pageUrl('play.html', { ws: ctx.server.wsUrl(LOAD_APP), id });
      players.push(await openParticipant(ctx.browser, url, `load-player-${i}`));
    }
    const notDecoding = [];
    for (const p of players) {
      try {
        await waitUntil(async () => ((await p.stats())?.video?.framesDecoded ?? 0) > 0,
          { timeoutMs: 20_000, what: `${p.label} first frame` });
      } catch { notDecoding.push(p.label); }
    }
    if (notDecoding.length) log(`players not decoding before the window: ${notDecoding.join(', ')}`);

    const frames0 = await Promise.all(players.map((p) => p.stats().then((s) => s?.video?.framesDecoded ?? 0)));
    const cpu0 = await cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    let rssPeak = 0;
    const rssSamples = [];
    for (let s = 0; s < LOAD_SECONDS; s++) {
      const r = await rssMiB(pid);
      rssSamples.push(r);
      rssPeak = Math.max(rssPeak, r);
      await sleep(1000);
    }
    const cpu1 = await cpuSeconds(pid);
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const rssEnd = await rssMiB(pid);
    rssPeak = Math.max(rssPeak, rssEnd);
    const frames1 = await Promise.all(players.map((p) => p.stats().then((s) => s?.video?.framesDecoded ?? 0)));
    const fps = frames1.map((f, i) => (f - frames0[i]) / wallS);
    return {
      app: LOAD_APP,
      players: LOAD_PLAYERS,
      windowSeconds: wallS,
      idleCpuPercentOneCore: idleCpuPct,
      cpuSeconds: cpu1 - cpu0,
      cpuPercentOneCore: ((cpu1 - cpu0) / wallS) * 100,
      rssEndMiB: rssEnd,
      rssPeakMiB: rssPeak,
      rssSamplesMiB: rssSamples,
      notDecodingAtStart: notDecoding,
      playerDecodedFps: fps,
      playersStalled: fps.filter((f) => f < 1).length,
    };
  } finally {
    for (const p of players) await p.close();
    await pub.close();
  }
}

async function main() {
  log(`tern binary ${ternBinary()}`);
  const server = await startTern({ configToml: CONFIG_TOML });
  log(`tern pid ${server.pid} http ${server.httpPort} media ${server.mediaPort}`);
  const web = await startStaticServer();
  const browser = await launchChromium();
  const ctx = { server, web, browser };
  const result = { at: new Date().toISOString(), host: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, latency: [], load: null };
  let failed = false;
  try {
    for (const codec of CODECS) result.latency.push(await latencyRun(ctx, codec));
    result.load = await loadRun(ctx);
  } catch (e) {
    failed = true;
    result.error = String(e.stack || e);
    log('benchmark aborted:', e.message);
    log('tern stderr (tail):\n' + server.stderr().slice(-4000));
  } finally {
    await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
    await web.close();
    await server.stop();
  }

  const out = [];
  out.push('');
  out.push(`play() -> first decoded frame, ${RUNS} fresh player contexts per codec (ms)`);
  out.push('                                           first frame by getStats poll | by requestVideoFrameCallback');
  out.push('codec   app       negotiated      ok/runs  median    min    max |      median    min    max');
  for (const r of result.latency) {
    const neg = r.codecsSeen.join(',') + (r.codecAsExpected ? '' : ' (UNEXPECTED)');
    out.push(`${r.codec.padEnd(7)} ${r.app.padEnd(9)} ${neg.padEnd(15)} ${String(RUNS - r.failures).padStart(3)}/${String(RUNS).padEnd(4)} `
      + `${fmt(r.statsMs.median).padStart(6)} ${fmt(r.statsMs.min).padStart(6)} ${fmt(r.statsMs.max).padStart(6)} | `
      + `${fmt(r.videoFrameMs.median).padStart(11)} ${fmt(r.videoFrameMs.min).padStart(6)} ${fmt(r.videoFrameMs.max).padStart(6)}`);
  }
  out.push('');
  out.push('where the time goes (medians, ms after play()): ICE connected / play_started / first video packet (getStats poll) / first frame');
  for (const r of result.latency) {
    out.push(`${r.codec.padEnd(7)} ${fmt(r.iceConnectedMs.median).padStart(6)} / ${fmt(r.playStartedMs.median).padStart(6)} / `
      + `${fmt(r.firstPacketMs.median).padStart(6)} / ${fmt(r.statsMs.median).padStart(6)}`);
  }
  if (result.load) {
    const l = result.load;
    out.push('');
    out.push(`server load: 1 publisher + ${l.players} players on ${l.app}, ${fmt(l.windowSeconds, 1)} s window`);
    out.push(`  CPU time (utime+stime)   ${fmt(l.cpuSeconds, 2)} s  = ${fmt(l.cpuPercentOneCore, 1)} % of one core   (idle before: ${fmt(l.idleCpuPercentOneCore, 1)} %)`);
    out.push(`  RSS                      end ${fmt(l.rssEndMiB, 1)} MiB, peak ${fmt(l.rssPeakMiB, 1)} MiB (sampled every 1 s)`);
    out.push(`  player decoded fps       min ${fmt(Math.min(...l.playerDecodedFps), 1)}, max ${fmt(Math.max(...l.playerDecodedFps), 1)}; stalled players: ${l.playersStalled}`);
  }
  const dir = path.join(os.tmpdir(), 'tern-bench');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'play_latency.json');
  await writeFile(file, JSON.stringify(result, null, 2));
  out.push('');
  out.push(`JSON: ${file}`);
  console.log(out.join('\n'));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
