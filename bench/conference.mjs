#!/usr/bin/env node
// Benchmark (not a test): multitrack conference rooms with the official SDK (e2e/pages/conference.html).
//   1. join time: participants join a fresh room one after another (publish with mainTrack = room, then play
//      the room); for each joiner, the time from its play() of the room to the first decoded frame of every
//      remote participant's video, and the time until the participants already there decode the newcomer.
//      Repeated --runs times; the 4th joiner of a 4-participant meeting is the headline figure.
//   2. load: the last run's 4-participant meeting is held for --seconds while the server's CPU time
//      (utime+stime, /proc/PID/stat) and RSS (VmRSS, /proc/PID/status) are sampled, with the frame rate every
//      participant decodes of every other.
// Uses the e2e harness (e2e/lib) and its node_modules: run `npm ci` in e2e/ first.
//
//   node bench/conference.mjs [--runs 3] [--participants 4] [--seconds 30]
//
// Prints a table and writes JSON to $TMPDIR/tern-bench/conference.json.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTern, ternBinary } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant, signalingSummary } from '../e2e/lib/participant.mjs';
import { sleep, waitUntil, withTimeout } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';
import { trackStats, inboundOf, waitForRemoteVideos } from '../e2e/lib/room-checks.mjs';
import { cpuSeconds, rssMiB, summary } from '../e2e/lib/proc-stats.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    participants: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '30' },
  },
});
const RUNS = Number(opt.runs);
const N = Number(opt.participants);
const LOAD_SECONDS = Number(opt.seconds);

const fmt = (v, d = 0) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(d));
const log = (...a) => console.error('[bench]', ...a);

/** Page times (performance.now) → epoch ms, so that times of different pages compare. */
async function epochOf(p) { return p.page.evaluate(() => performance.timeOrigin); }

/**
 * One meeting: N participants join one after another. Returns the per-joiner figures and the open members
 * (the caller closes them).
 */
async function meeting(ctx, run) {
  const room = uniqueStreamId(`bench_room${run}`);
  const members = [];
  const joins = [];
  for (let i = 0; i < N; i++) {
    const id = uniqueStreamId(`bench_p${i}`);
    const url = ctx.web.pageUrl('conference.html', { ws: ctx.server.wsUrl('LiveApp'), id, room });
    const p = await openParticipant(ctx.browser, url, `run${run}-participant${i + 1}`);
    const origin = await epochOf(p);
    members.push({ id, p, origin });
    const started = await p.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000, match: (d) => d?.streamId === id });
    if (i === 0) continue;
    const earlier = members.slice(0, i);
    await waitForRemoteVideos(p, earlier.map((m) => m.id), 30_000);
    const own = await waitUntil(() => p.page.evaluate((want) => {
      const times = want.map((x) => window.firstDecoded[`ARDAMSv${x}`]);
      return times.every((x) => x != null)
        ? { playCalledAt: window.playCalledAt, publishCalledAt: window.publishCalledAt, lastDecoded: Math.max(...times) }
        : null;
    }, earlier.map((m) => m.id)), { timeoutMs: 5_000, what: `${p.label}: first-decoded times` });
    // When did the participants already there decode the newcomer? (epoch ms, from their own pages)
    const seenBy = [];
    for (const m of earlier) {
      await waitForRemoteVideos(m.p, [id], 30_000);
      const t = await waitUntil(() => m.p.page.evaluate((x) => window.firstDecoded[`ARDAMSv${x}`] ?? null, id),
        { timeoutMs: 5_000, what: `${m.p.label}: first decoded frame of the newcomer` });
      seenBy.push(m.origin + t);
    }
    const startedEpoch = origin + started.t;
    const j = {
      joiner: i + 1,
      remoteTracks: i,
      playToAllDecodedMs: own.lastDecoded - own.playCalledAt,
      publishToAllDecodedMs: own.lastDecoded - own.publishCalledAt,
      othersDecodeNewcomerMs: Math.max(...seenBy) - startedEpoch,
    };
    joins.push(j);
    log(`run ${run}: participant ${i + 1} joined: play() -> ${i} remote video(s) decoding ${fmt(j.playToAllDecodedMs)} ms `
      + `(publish() -> all ${fmt(j.publishToAllDecodedMs)} ms); the others decoded it ${fmt(j.othersDecodeNewcomerMs)} ms after its publish_started`);
  }
  return { room, members, joins };
}

async function holdMeeting(ctx, members) {
  const pid = ctx.server.pid;
  // The pages' first-frame pollers (getStats every 50 ms) are done: keep them out of the window.
  for (const m of members) await m.p.page.evaluate(() => window.stopFirstDecodedWatch());
  const framesOf = async () => Promise.all(members.map(async (m) => {
    const st = await trackStats(m.p);
    return Object.fromEntries(members.filter((o) => o !== m).map((o) => [o.id, inboundOf(st, o.id, 'video')?.framesDecoded ?? 0]));
  }));
  const frames0 = await framesOf();
  const cpu0 = await cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  const rssSamples = [];
  for (let s = 0; s < LOAD_SECONDS; s++) {
    rssSamples.push(await rssMiB(pid));
    await sleep(1000);
  }
  const cpu1 = await cpuSeconds(pid);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const rssEnd = await rssMiB(pid);
  const frames1 = await framesOf();
  const fps = [];
  members.forEach((m, i) => {
    for (const [other, f1] of Object.entries(frames1[i])) fps.push({ viewer: m.p.label, of: other, fps: (f1 - (frames0[i][other] ?? 0)) / wallS });
  });
  return {
    participants: members.length,
    windowSeconds: wallS,
    cpuSeconds: cpu1 - cpu0,
    cpuPercentOneCore: ((cpu1 - cpu0) / wallS) * 100,
    rssEndMiB: rssEnd,
    rssPeakMiB: Math.max(rssEnd, ...rssSamples),
    rssSamplesMiB: rssSamples,
    decodedFps: fps,
    stalledTracks: fps.filter((f) => f.fps < 1).length,
  };
}

async function main() {
  log(`tern binary ${ternBinary()}`);
  const server = await startTern();
  log(`tern pid ${server.pid} http ${server.httpPort} media ${server.mediaPort}`);
  const web = await startStaticServer();
  const browser = await launchChromium();
  const ctx = { server, web, browser };
  const result = { at: new Date().toISOString(), host: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, participants: N, runs: [], load: null };
  let failed = false;
  let members = [];
  try {
    const idle0 = await cpuSeconds(server.pid);
    await sleep(2000);
    result.idleCpuPercentOneCore = ((await cpuSeconds(server.pid)) - idle0) / 2 * 100;
    result.rssIdleMiB = await rssMiB(server.pid);
    for (let run = 1; run <= RUNS; run++) {
      const m = await meeting(ctx, run);
      result.runs.push({ room: m.room, joins: m.joins });
      members = m.members;
      if (run < RUNS) {
        for (const x of members) await x.p.close();
        members = [];
        await sleep(1000);
      }
    }
    log(`load: holding the last ${N}-participant meeting for ${LOAD_SECONDS} s`);
    result.load = await holdMeeting(ctx, members);
  } catch (e) {
    failed = true;
    result.error = String(e.stack || e);
    log('benchmark aborted:', e.message);
    for (const x of members) log(`${x.p.label} signaling:\n  ` + signalingSummary(x.p).slice(0, 30).join('\n  '));
    log('tern stderr (tail):\n' + server.stderr().slice(-4000));
  } finally {
    for (const x of members) await x.p.close();
    await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
    await web.close();
    await server.stop();
  }

  const out = [''];
  out.push(`conference join time, ${RUNS} run(s) of a ${N}-participant meeting joined one participant at a time (ms)`);
  out.push('joiner  remote videos   play() -> all remote videos decoding   publish() -> same   others decode the newcomer');
  out.push('                          median    min    max                       median                  median');
  for (let j = 2; j <= N; j++) {
    const rows = result.runs.map((r) => r.joins.find((x) => x.joiner === j)).filter(Boolean);
    const a = summary(rows.map((r) => r.playToAllDecodedMs));
    const b = summary(rows.map((r) => r.publishToAllDecodedMs));
    const c = summary(rows.map((r) => r.othersDecodeNewcomerMs));
    out.push(`${String(j).padStart(6)}  ${String(j - 1).padStart(13)}   ${fmt(a.median).padStart(7)} ${fmt(a.min).padStart(6)} ${fmt(a.max).padStart(6)}`
      + `   ${fmt(b.median).padStart(26)}   ${fmt(c.median).padStart(21)}`);
  }
  if (result.load) {
    const l = result.load;
    const f = l.decodedFps.map((x) => x.fps);
    out.push('');
    out.push(`server load: ${l.participants}-participant meeting (each publishes camera+mic and plays the room), ${fmt(l.windowSeconds, 1)} s window`);
    out.push(`  CPU time (utime+stime)   ${fmt(l.cpuSeconds, 2)} s  = ${fmt(l.cpuPercentOneCore, 1)} % of one core   (idle before: ${fmt(result.idleCpuPercentOneCore, 1)} %)`);
    out.push(`  RSS                      end ${fmt(l.rssEndMiB, 1)} MiB, peak ${fmt(l.rssPeakMiB, 1)} MiB (sampled every 1 s; idle ${fmt(result.rssIdleMiB, 1)} MiB)`);
    out.push(`  decoded fps per remote   min ${fmt(Math.min(...f), 1)}, max ${fmt(Math.max(...f), 1)} over ${f.length} viewer/participant pairs; stalled: ${l.stalledTracks}`);
  }
  const dir = path.join(os.tmpdir(), 'tern-bench');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'conference.json');
  await writeFile(file, JSON.stringify(result, null, 2));
  out.push('');
  out.push(`JSON: ${file}`);
  console.log(out.join('\n'));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
