#!/usr/bin/env node
// Benchmark (not a test), issue #18: what a viewer decodes over UDP and over ICE-TCP when its link loses
// --loss (1 %) of packets both ways. The viewer (the official SDK's play page) runs in a network namespace
// whose only link to the host is bench/lossy_link.py (TUN devices and a user-space forwarder that drops
// packets at random: this kernel has no netem). Over --seconds (30) of playback per path it prints the
// decoded frame rate, the freezes Chromium counts (freezeCount, totalFreezesDuration) and the packets lost.
// Needs root, e2e/node_modules and target/release/tern.
//
//   node bench/turn_loss.mjs [--loss 0.01] [--seconds 30]
import { spawn, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTern } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium, CHROMIUM_PATH } from '../e2e/lib/chromium.mjs';
import { openParticipant } from '../e2e/lib/participant.mjs';
import { openTernPage } from '../e2e/lib/sdk-harness.mjs';
import { sleep, waitUntil, withTimeout } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';

const { values: opt } = parseArgs({
  options: { loss: { type: 'string', default: '0.01' }, seconds: { type: 'string', default: '30' } },
});
const LOSS = Number(opt.loss);
const SECONDS = Number(opt.seconds);
const here = path.dirname(fileURLToPath(import.meta.url));
const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });

const ns = `tern-loss-${process.pid}`;
const n = (process.pid % 250) + 1;
const hostAddr = `10.214.${n}.1`;
ip('netns', 'add', ns);
const link = spawn('python3', [path.join(here, 'lossy_link.py'), ns, hostAddr, `10.214.${n}.2`, String(LOSS)],
  { stdio: ['ignore', 'pipe', 'inherit'] });
let linkOut = '';
link.stdout.on('data', (d) => { linkOut += d; });
await waitUntil(() => linkOut.includes('ready'), { timeoutMs: 10_000, what: 'lossy link up' });
const dir = await mkdtemp(path.join(os.tmpdir(), `${ns}-`));
const wrapper = path.join(dir, 'chromium');
await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} '${CHROMIUM_PATH}' "$@"\n`);
await chmod(wrapper, 0o755);

// Tern starts after the link exists, so its candidates include the host end of it.
const server = await startTern({ httpAddr: '0.0.0.0:0', mediaAddr: '0.0.0.0:0', extraArgs: ['--media-workers', '1'] });
const web = await startStaticServer({ host: '0.0.0.0' });
const hostBrowser = await launchChromium();
const nsBrowser = await launchChromium({
  executablePath: wrapper,
  extraArgs: [`--unsafely-treat-insecure-origin-as-secure=http://${hostAddr}:${web.port}`],
});

async function sample(p) {
  return p.page.evaluate(async () => {
    const pc = window.adaptor.remotePeerConnection[window.streamId];
    const report = await pc.getStats();
    let v = null;
    let pairProtocol = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId);
        pairProtocol = report.get(pair.remoteCandidateId)?.protocol ?? null;
      }
    });
    return {
      t: performance.now(),
      frames: v?.framesDecoded ?? 0,
      freezes: v?.freezeCount ?? 0,
      freezeSeconds: v?.totalFreezesDuration ?? 0,
      lost: v?.packetsLost ?? 0,
      received: v?.packetsReceived ?? 0,
      protocol: pairProtocol,
    };
  });
}

const rows = [];
try {
  const id = uniqueStreamId('loss');
  const pub = await openTernPage(hostBrowser, web.pageUrl('tern-sdk.html', { ws: server.wsUrl() }), 'publisher');
  await pub.make('p');
  await pub.waitFor('p', 'initialized');
  await pub.call('p', 'publish', id);
  await pub.waitFor('p', 'publish_started', { timeoutMs: 15_000 });
  for (const name of ['UDP', 'ICE-TCP']) {
    if (name === 'ICE-TCP') {
      ip('-n', ns, 'route', 'replace', 'blackhole', 'default', 'table', '214');
      ip('-n', ns, 'rule', 'add', 'ipproto', 'udp', 'table', '214', 'prio', '100');
    }
    const p = await openParticipant(nsBrowser, web.pageUrl('play.html', { ws: server.wsUrl('LiveApp', hostAddr), id }, hostAddr), `viewer-${name}`);
    try {
      await waitUntil(async () => (await sample(p)).frames > 0, { timeoutMs: 30_000, what: `${name}: first frame` });
      await sleep(2000);
      const a = await sample(p);
      await sleep(SECONDS * 1000);
      const b = await sample(p);
      const secs = (b.t - a.t) / 1000;
      const row = {
        path: name,
        protocol: b.protocol,
        fps: (b.frames - a.frames) / secs,
        freezes: b.freezes - a.freezes,
        freezeSeconds: b.freezeSeconds - a.freezeSeconds,
        lossPercent: (100 * (b.lost - a.lost)) / Math.max(1, (b.lost - a.lost) + (b.received - a.received)),
        seconds: secs,
      };
      rows.push(row);
      console.log(`${name.padEnd(8)} (${row.protocol}) over ${secs.toFixed(0)} s at ${LOSS * 100} % link loss: `
        + `${row.fps.toFixed(1)} frames/s decoded, ${row.freezes} freezes (${row.freezeSeconds.toFixed(2)} s), `
        + `RTP video loss seen ${row.lossPercent.toFixed(2)} %`);
    } finally {
      await p.close();
    }
  }
  console.log(JSON.stringify(rows));
} finally {
  for (const b of [nsBrowser, hostBrowser]) await withTimeout(b.close(), 10_000, 'browser.close').catch(() => {});
  await web.close();
  await server.stop();
  link.kill('SIGTERM');
  await new Promise((r) => link.once('exit', r));
  process.stdout.write(`lossy link: ${linkOut.split('\n').filter((l) => l.startsWith('passed')).join('')}\n`);
  try { ip('netns', 'del', ns); } catch { /* gone */ }
  await rm(dir, { recursive: true, force: true });
}
