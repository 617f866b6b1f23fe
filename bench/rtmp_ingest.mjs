#!/usr/bin/env node
// Benchmark (not a test): RTMP ingest (issue #16), in one run of one Tern and one Chromium. Debian's ffmpeg pushes
// H.264 (no B-frames) + AAC over RTMP; official-SDK players (e2e/pages/play.html) watch over WebRTC.
//   connect    ffmpeg's TCP connect (seen by a relay in this process) -> first decoded frame at a player that
//              was already waiting for the stream; median of --runs
//   late       a player's `play` frame -> its first decoded frame, the stream live with a 10 s GOP (-g 300), the
//              player joining at a different point of the GOP each time; median of --runs
//   glass      glass-to-glass: ffmpeg stamps each frame with the wall clock (24 blocks of bits: milliseconds,
//              drawn by geq when the frame is made, in real time with -re); the page reads them back from each
//              shown frame (requestVideoFrameCallback, canvas) and subtracts from its own clock; median and p95
//              over --seconds
//   cpu        Tern's CPU (utime+stime) per RTMP stream with audio transcoding: 1, then --streams pushes of a
//              pre-encoded 2.5 Mbit/s 720p30 H.264 + 128 kbit/s AAC file (ffmpeg -c copy, so the encoders cost
//              nothing), no players; and so how many such streams one core ingests
//
//   node bench/rtmp_ingest.mjs [--runs 10] [--seconds 20] [--streams 8]
import { spawn, execFileSync } from 'node:child_process';
import { mkdir, writeFile, mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTern } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant } from '../e2e/lib/participant.mjs';
import { sleep, waitUntil } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';
import { cpuSeconds, rssMiB } from '../e2e/lib/proc-stats.mjs';
import { stats, pushLiveArgs, glassToGlass } from './stamp.mjs';

const { values: opt } = parseArgs({ options: {
  runs: { type: 'string', default: '10' }, seconds: { type: 'string', default: '20' }, streams: { type: 'string', default: '8' },
} });
const RUNS = Number(opt.runs);
const log = (...a) => console.error('[bench]', ...a);
const children = new Set();

/** ffmpeg pushing a live stamped test pattern and a tone to `url`. */
const pushLive = (url, o) => ffmpeg(pushLiveArgs(url, o));

function ffmpeg(args) {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** A relay in front of Tern's RTMP port that notes when each client connected. */
async function connectRelay(target) {
  const connects = [];
  const server = net.createServer((client) => {
    connects.push(Date.now());
    const up = net.connect(target, '127.0.0.1');
    const end = () => { client.destroy(); up.destroy(); };
    client.on('error', end); up.on('error', end); client.on('close', end); up.on('close', end);
    client.pipe(up); up.pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, connects, close: () => server.close() };
}

async function decodedAt(p, what) {
  return waitUntil(async () => (((await p.stats().catch(() => null))?.video?.framesDecoded ?? 0) > 0 ? Date.now() : null),
    { timeoutMs: 20_000, intervalMs: 20, what });
}

function sentAt(p, command) {
  const f = p.frames.find((x) => x.dir === 'sent' && x.payload.includes(`"command":"${command}"`));
  return f ? f.t : null;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tern-rtmp-bench-'));
  const server = await startTern({ rtmpAddr: '127.0.0.1:0' });
  const web = await startStaticServer();
  const browser = await launchChromium();
  const open = (params, label) => openParticipant(browser, web.pageUrl('play.html', { ws: server.wsUrl('LiveApp'), ...params }), label);
  const rtmp = (id) => `rtmp://127.0.0.1:${server.rtmpPort}/LiveApp/${id}`;
  const results = { connect: [], late: [], glass: [], cpu: {} };
  try {
    // connect -> first decoded frame at a waiting player
    const relay = await connectRelay(server.rtmpPort);
    for (let i = 1; i <= RUNS; i++) {
      const id = uniqueStreamId('rtmpc');
      const player = await open({ id, retry: '0' }, `waiting-${i}`);
      await player.waitForEvent('no_stream_exist', { kind: 'error', timeoutMs: 10_000 });
      const before = relay.connects.length;
      const enc = pushLive(`rtmp://127.0.0.1:${relay.port}/LiveApp/${id}`, { gop: 30 });
      const at = await decodedAt(player, `connect #${i}`);
      results.connect.push(at - relay.connects[before]);
      log(`connect #${i}: ${results.connect.at(-1)} ms`);
      enc.kill('SIGKILL');
      await player.close();
    }
    relay.close();

    // late joiners of a 10 s GOP, and glass-to-glass
    const id = uniqueStreamId('rtmpl');
    const enc = pushLive(rtmp(id), { gop: 300 });
    await sleep(3000);
    for (let i = 1; i <= RUNS; i++) {
      await sleep(700 + Math.random() * 1500);
      const p = await open({ id }, `late-${i}`);
      const at = await decodedAt(p, `late #${i}`);
      results.late.push(at - sentAt(p, 'play'));
      log(`late #${i}: ${results.late.at(-1)} ms`);
      await p.close();
    }
    const watcher = await open({ id }, 'glass');
    await decodedAt(watcher, 'glass player');
    await sleep(2000);
    const g = await glassToGlass(watcher, Number(opt.seconds) * 1000);
    if (g.error) throw new Error(g.error);
    results.glass = g.latencies;
    log(`glass-to-glass: ${g.latencies.length} frames`);
    await watcher.close();
    enc.kill('SIGKILL');

    // CPU per stream
    const file = path.join(dir, 'in.flv');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast',
      '-bf', '0', '-g', '60', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', file]);
    for (const n of [1, Number(opt.streams)]) {
      const encs = [];
      for (let k = 0; k < n; k++) {
        encs.push(ffmpeg(['-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', rtmp(uniqueStreamId(`cpu${k}`))]));
      }
      await sleep(4000);
      const c0 = await cpuSeconds(server.pid);
      const t0 = Date.now();
      await sleep(15_000);
      const cpu = (await cpuSeconds(server.pid)) - c0;
      const wall = (Date.now() - t0) / 1000;
      const rss = await rssMiB(server.pid);
      const alive = encs.filter((e) => e.exitCode == null).length;
      results.cpu[n] = { streams: n, alive, corePercent: (100 * cpu) / wall, perStreamPercent: (100 * cpu) / wall / n, rssMiB: rss };
      log(`cpu with ${n} streams: ${JSON.stringify(results.cpu[n])}`);
      for (const e of encs) e.kill('SIGKILL');
      await sleep(2000);
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await browser.close().catch(() => {});
    await web.close();
    await server.stop();
  }
  const many = results.cpu[Number(opt.streams)];
  const summaryOut = {
    connectToFirstFrameMs: stats(results.connect),
    lateJoinerPlayToFirstFrameMs: stats(results.late),
    glassToGlassMs: stats(results.glass),
    cpu: results.cpu,
    streamsPerCore: many ? Math.floor(100 / many.perStreamPercent) : null,
  };
  console.log(JSON.stringify(summaryOut, null, 2));
  const out = path.join(os.tmpdir(), 'tern-bench');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'rtmp_ingest.json'), JSON.stringify({ ...summaryOut, raw: results }, null, 2));
  log(`written: ${path.join(out, 'rtmp_ingest.json')}`);
}

main().catch((e) => { console.error(e); for (const c of children) c.kill('SIGKILL'); process.exit(1); });
