#!/usr/bin/env node
// Benchmark (not a test) of cluster mode (issue #19), in one run: a redis-server and three Tern nodes (A, B, C) on
// loopback, Debian's ffmpeg pushing a live H.264 stream stamped with the wall clock over RTMP to A, official-SDK
// players (e2e/pages/play.html) in one Chromium.
//
// 1. play() -> first decoded frame: on A (same node as the publisher), on B with the relay running already (warm),
//    and on C as the first viewer there (cold: the relay is set up by that play; C's relay ends between samples).
// 2. Added one-way delay of the relay: glass-to-glass latency of a player on A and one on B, at the same time.
// 3. Relay cost: CPU time of A+B per relayed packet, with the second viewer on B (through the relay) against the
//    second viewer on A (no relay), over --seconds each.
//    Redis commands per second meanwhile (three nodes beating and reaping, nobody joining).
// 4. Failover: kill -9 of A with players on B and C; the encoder republishes to B at once (retrying while A's claim
//    holds). Time from the kill to the republish being accepted, and to each player decoding again (they keep their
//    sessions: no play_finished, the edges' relays follow the stream to B). Then the same without a republish on an
//    app with a 3 s restore window: time to play_finished.
//
//   cargo build --release -p tern-server && (cd e2e && npm ci)
//   node bench/cluster.mjs [--samples 8] [--seconds 20]
import { execFileSync, spawn } from 'node:child_process';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant } from '../e2e/lib/participant.mjs';
import { sleep, waitUntil } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';
import { startFrameLog, waitForVideoAgain } from '../e2e/lib/frame-log.mjs';
import { startRedis, startNode } from '../e2e/lib/cluster.mjs';
import { stats, pushLiveArgs, glassToGlass } from './stamp.mjs';

const { values: opt } = parseArgs({ options: {
  samples: { type: 'string', default: '8' }, seconds: { type: 'string', default: '20' },
} });
const SAMPLES = Number(opt.samples);
const SECONDS = Number(opt.seconds);
const log = (...a) => console.error('[bench]', ...a);
const children = new Set();
const TICK = 100; // USER_HZ

function ffmpeg(args) {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

async function datagramsIn(node) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('tern_media_datagrams_received'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** Commands Redis has processed so far. */
function redisCommands(port) {
  const out = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'stats'], { encoding: 'utf8' });
  return Number(/total_commands_processed:(\d+)/.exec(out)[1]);
}

async function main() {
  const redis = await startRedis();
  const nodes = {};
  const config = '[apps.LiveApp]\nvp8Enabled = false\nh264Enabled = true\n'
    + '[apps.ShortApp]\nvp8Enabled = false\nh264Enabled = true\nwebRTCClientStartTimeoutMs = 3000\n';
  for (const name of ['A', 'B', 'C']) {
    nodes[name] = await startNode(redis, name, { rtmpAddr: '127.0.0.1:0', configToml: config });
  }
  const web = await startStaticServer();
  const browser = await launchChromium();
  const result = {};
  const open = (node, id, label, app = 'LiveApp') => openParticipant(browser, web.pageUrl('play.html', { ws: node.wsUrl(app), id, firstFrame: '1' }), label);
  const firstFrame = async (node, id, label, app = 'LiveApp') => {
    const p = await open(node, id, label, app);
    const ff = await waitUntil(() => p.page.evaluate(() => (window.firstFrame.statsAt != null ? window.firstFrame : null)),
      { timeoutMs: 20_000, what: `${label}: first frame` });
    return { p, ms: ff.statsAt - ff.playCalledAt };
  };
  try {
    const id = uniqueStreamId('bench');
    let encoder = ffmpeg(pushLiveArgs(`rtmp://127.0.0.1:${nodes.A.rtmpPort}/LiveApp/${id}`, { gop: 30 }));
    await waitUntil(async () => (await nodes.A.rest('GET', `/broadcasts/${id}`)).json?.status === 'broadcasting',
      { timeoutMs: 20_000, what: 'the stream live on A' });
    await sleep(2000);

    // 1. play() -> first frame.
    const holder = await firstFrame(nodes.B, id, 'holder-B'); // keeps B's relay up: B's samples are warm
    const times = { sameNode: [], crossNodeWarm: [], crossNodeCold: [] };
    for (let i = 0; i < SAMPLES; i++) {
      for (const [kind, node] of [['sameNode', nodes.A], ['crossNodeWarm', nodes.B], ['crossNodeCold', nodes.C]]) {
        const { p, ms } = await firstFrame(node, id, `${kind}-${i}`);
        times[kind].push(ms);
        await p.close();
      }
      log(`sample ${i + 1}/${SAMPLES}: ${Object.entries(times).map(([k, v]) => `${k} ${Math.round(v.at(-1))} ms`).join(', ')}`);
      // C's relay ends 10 s after its last viewer: the next cold sample sets it up again.
      await waitUntil(async () => (await nodes.C.rest('GET', `/broadcasts/${id}`)).json?.webRTCViewerCount === 1,
        { timeoutMs: 20_000, what: 'C left' });
      await sleep(11_000);
    }
    result.playToFirstFrameMs = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));

    // 2. Glass-to-glass on A and B at once.
    const onA = await firstFrame(nodes.A, id, 'latency-A');
    await sleep(3000);
    const [gA, gB] = await Promise.all([glassToGlass(onA.p, SECONDS * 1000), glassToGlass(holder.p, SECONDS * 1000)]);
    if (gA.error || gB.error) throw new Error(`glass-to-glass: ${gA.error ?? gB.error}`);
    const sA = stats(gA.latencies);
    const sB = stats(gB.latencies);
    result.glassToGlassMs = { sameNode: sA, crossNode: sB, addedByRelayMedian: sB.median - sA.median };

    // 3. CPU per relayed packet: a second viewer on B (relay) against a second viewer on A.
    const window = async () => {
      const before = { a: await cpuSeconds(nodes.A.pid), b: await cpuSeconds(nodes.B.pid), pkts: await datagramsIn(nodes.B) };
      await sleep(SECONDS * 1000);
      const after = { a: await cpuSeconds(nodes.A.pid), b: await cpuSeconds(nodes.B.pid), pkts: await datagramsIn(nodes.B) };
      return { cpu: after.a - before.a + after.b - before.b, relayedPackets: after.pkts - before.pkts };
    };
    const commandsBefore = redisCommands(redis.port);
    const withRelay = await window(); // viewers: latency-A on A, holder on B (through the relay)
    // Three nodes, one stream, two viewers, nobody joining: heartbeats and reaping only.
    result.redisCommandsPerSecondSteady = (redisCommands(redis.port) - commandsBefore) / SECONDS;
    await holder.p.close();
    await waitUntil(async () => (await nodes.B.rest('GET', `/broadcasts/${id}`)).json?.webRTCViewerCount === 1,
      { timeoutMs: 20_000, what: 'B left' });
    await sleep(11_000); // B's relay ends
    const secondOnA = await firstFrame(nodes.A, id, 'second-A');
    await sleep(2000);
    const noRelay = await window(); // two viewers on A
    await secondOnA.p.close();
    result.relayCost = {
      seconds: SECONDS,
      cpuSecondsWithRelay: withRelay.cpu,
      cpuSecondsWithoutRelay: noRelay.cpu,
      relayedPackets: withRelay.relayedPackets,
      usPerRelayedPacket: ((withRelay.cpu - noRelay.cpu) / withRelay.relayedPackets) * 1e6,
    };

    // 4. Failover with a republish to B: the players on B and C keep their sessions.
    const onB = await firstFrame(nodes.B, id, 'failover-B');
    const onC = await firstFrame(nodes.C, id, 'failover-C');
    for (const w of [onB, onC]) await startFrameLog(w.p);
    await sleep(2000);
    const killedAt = Date.now();
    nodes.A.kill('SIGKILL');
    encoder.kill('SIGKILL');
    // The encoder reconnects at once, and again while B refuses it (A's claim holds until its heartbeat expires).
    let accepted;
    for (;;) {
      encoder = ffmpeg(pushLiveArgs(`rtmp://127.0.0.1:${nodes.B.rtmpPort}/LiveApp/${id}`, { gop: 30 }));
      const exited = await Promise.race([new Promise((r) => encoder.once('exit', () => r(true))), sleep(2000).then(() => false)]);
      if (!exited) { accepted = Date.now() - killedAt - 2000; break; }
      if (Date.now() - killedAt > 30_000) throw new Error('B never took the republish');
      await sleep(200);
    }
    const again = {};
    for (const [name, w] of [['B', onB], ['C', onC]]) {
      again[name] = (await waitForVideoAgain(w.p, killedAt, { timeoutMs: 20_000 })).dropToResumeMs;
      const finished = (await w.p.events()).filter((e) => e.name === 'play_finished').length;
      if (finished) throw new Error(`the player on ${name} got play_finished although the stream came back`);
    }
    result.failoverMs = { republishAcceptedBefore: accepted, playersDecodingAgain: again };
    await onB.p.close();
    await onC.p.close();
    await onA.p.close();
    encoder.kill('SIGKILL');

    // 4b. Failover without a republish: B's origin dies; C's player hears play_finished after the 3 s window.
    const short = uniqueStreamId('short');
    encoder = ffmpeg(pushLiveArgs(`rtmp://127.0.0.1:${nodes.B.rtmpPort}/ShortApp/${short}`, { gop: 30 }));
    await waitUntil(async () => (await nodes.B.rest('GET', `/broadcasts/${short}`, undefined, 'ShortApp')).json?.status === 'broadcasting',
      { timeoutMs: 20_000, what: 'the short stream live on B' });
    const onShort = await firstFrame(nodes.C, short, 'short-C', 'ShortApp');
    await sleep(1000);
    const diedAt = Date.now();
    nodes.B.kill('SIGKILL');
    encoder.kill('SIGKILL');
    const finishedInRest = waitUntil(async () => {
      const r = await nodes.C.rest('GET', `/broadcasts/${short}`, undefined, 'ShortApp');
      return r.status === 404 || r.json?.status === 'finished';
    }, { timeoutMs: 10_000, intervalMs: 50, what: 'finished in REST on C' }).then(() => Date.now() - diedAt);
    await onShort.p.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
    result.failoverNoReturnMs = { restoreWindow: 3000, playersNotified: Date.now() - diedAt, recordFinished: await finishedInRest };
    await onShort.p.close();
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await browser.close().catch(() => {});
    await web.close();
    for (const n of Object.values(nodes)) await n.stop();
    await redis.stop();
  }
  console.log(JSON.stringify(result, null, 2));
  const out = path.join(os.tmpdir(), 'tern-bench');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'cluster.json'), JSON.stringify(result, null, 2));
}

main().catch((e) => { console.error(e); for (const c of children) c.kill('SIGKILL'); process.exit(1); });
