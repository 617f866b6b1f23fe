#!/usr/bin/env node
// Benchmark (not a test): glass-to-glass latency of HLS and low-latency HLS in hls.js, beside WebRTC's, in one run
// of one Tern and one Chromium (issue #17). Debian's ffmpeg pushes two live streams over RTMP, each frame stamped
// with the wall clock (bench/stamp.mjs), a keyframe every `--gop` seconds: one to an app with HLS, one to an app
// with low-latency HLS (llHlsEnabled, ~200 ms parts), both with hlsTime = --gop. Three pages watch at once: an
// official-SDK WebRTC player (e2e/pages/play.html), hls.js (e2e/pages/hls.html) on the HLS playlist, and hls.js in
// its low-latency mode on the LL-HLS one. Each reads the stamp of every frame it shows for --seconds and subtracts
// it from its own clock; median and p95 per player, and hls.js's own `hls.latency` at the end.
//
//   cargo build --release -p tern-server
//   node bench/hls_latency.mjs [--seconds 60] [--gop 2]
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTern } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant } from '../e2e/lib/participant.mjs';
import { sleep, waitUntil } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';
import { stats, pushLiveArgs, glassToGlass } from './stamp.mjs';

const { values: opt } = parseArgs({ options: {
  seconds: { type: 'string', default: '60' }, gop: { type: 'string', default: '2' },
} });
const GOP = Number(opt.gop);
const log = (...a) => console.error('[bench]', ...a);
const children = new Set();

function ffmpeg(args) {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function main() {
  const app = (name, ll) => `[apps.${name}]\nvp8Enabled = false\nh264Enabled = true\nhlsMuxingEnabled = true\nhlsTime = ${GOP}\n`
    + `llHlsEnabled = ${ll}\n`;
  const server = await startTern({ rtmpAddr: '127.0.0.1:0', configToml: app('Hls', false) + app('LlHls', true) });
  const web = await startStaticServer();
  const browser = await launchChromium();
  const results = {};
  try {
    const ids = { Hls: uniqueStreamId('hls'), LlHls: uniqueStreamId('llhls') };
    for (const [name, id] of Object.entries(ids)) {
      ffmpeg(pushLiveArgs(`rtmp://127.0.0.1:${server.rtmpPort}/${name}/${id}`, { gop: Math.round(GOP * 30) }));
    }
    const playlist = (name) => `${server.baseUrl()}/${name}/streams/${ids[name]}.m3u8`;
    for (const name of Object.keys(ids)) {
      await waitUntil(async () => (((await (await fetch(playlist(name))).text()).match(/#EXTINF/g) ?? []).length >= 2),
        { timeoutMs: 30_000, what: `two segments of ${name}` });
    }
    const page = (file, params, label) => openParticipant(browser, web.pageUrl(file, params), label);
    const players = {
      webrtc: await page('play.html', { ws: server.wsUrl('Hls'), id: ids.Hls }, 'WebRTC'),
      hls: await page('hls.html', { id: ids.Hls, src: playlist('Hls') }, 'hls.js'),
      llHls: await page('hls.html', { id: ids.LlHls, src: playlist('LlHls'), lowLatency: '1' }, 'hls.js low-latency'),
    };
    for (const [name, p] of Object.entries(players)) {
      await waitUntil(() => p.page.evaluate(() => [...document.querySelectorAll('video')].some((v) => v.currentTime > 0.5)),
        { timeoutMs: 30_000, what: `${name} playing` });
    }
    // hls.js settles at its target distance from the live edge first.
    await sleep(5000);
    log(`measuring for ${opt.seconds} s`);
    const measured = await Promise.all(Object.values(players).map((p) => glassToGlass(p, Number(opt.seconds) * 1000)));
    Object.keys(players).forEach((name, i) => {
      if (measured[i].error) throw new Error(`${name}: ${measured[i].error}`);
      results[name] = { glassToGlassMs: stats(measured[i].latencies) };
    });
    for (const name of ['hls', 'llHls']) {
      results[name].hlsJsLatencyS = await players[name].page.evaluate(() => window.hls.latency);
      results[name].errors = await players[name].page.evaluate(() => window.hlsState.errors.length);
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await browser.close().catch(() => {});
    await web.close();
    await server.stop();
  }
  const summary = { seconds: Number(opt.seconds), gopSeconds: GOP, ...results };
  console.log(JSON.stringify(summary, null, 2));
  const out = path.join(os.tmpdir(), 'tern-bench');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'hls_latency.json'), JSON.stringify(summary, null, 2));
}

main().catch((e) => { console.error(e); for (const c of children) c.kill('SIGKILL'); process.exit(1); });
