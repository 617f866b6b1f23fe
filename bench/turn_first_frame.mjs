#!/usr/bin/env node
// Benchmark (not a test), issue #18: play() -> first decoded frame for a viewer that reaches Tern over
// UDP, ICE-TCP, TURN/UDP, TURN/TCP and TURN/TLS (median and p90 of --runs each, one run, one server).
// The viewer is the official SDK's play page in a network namespace (e2e/lib/netns.mjs); UDP is dropped
// for ICE-TCP, TURN/TCP and TURN/TLS, and TCP to the TURN port for TURN/TLS. TURN paths use relayed
// candidates only, with credentials minted from the configured secret. Needs root, e2e/node_modules and
// target/release/tern.
//
//   node bench/turn_first_frame.mjs [--runs 10]
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { createNetns } from '../e2e/lib/netns.mjs';
import { startTern } from '../e2e/lib/tern-server.mjs';
import { startStaticServer } from '../e2e/lib/static-server.mjs';
import { launchChromium } from '../e2e/lib/chromium.mjs';
import { openParticipant } from '../e2e/lib/participant.mjs';
import { openTernPage } from '../e2e/lib/sdk-harness.mjs';
import { makeSelfSignedCert } from '../e2e/lib/tls-cert.mjs';
import { waitUntil, withTimeout } from '../e2e/lib/poll.mjs';
import { uniqueStreamId } from '../e2e/lib/test-env.mjs';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(opt.runs);
const SECRET = 'bench-secret';

function credentials() {
  const username = `${Math.floor(Date.now() / 1000) + 3600}:bench`;
  const credential = crypto.createHmac('sha1', SECRET).update(username).digest('base64');
  return { username, credential };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const ns = await createNetns();
const cert = await makeSelfSignedCert([ns.hostAddr]);
const server = await startTern({
  httpAddr: '0.0.0.0:0', mediaAddr: '0.0.0.0:0', turnAddr: '0.0.0.0:0', tls: cert,
  extraArgs: ['--media-workers', '1'],
  configToml: `[turn]\ntls_addr = "0.0.0.0:0"\nsecret = "${SECRET}"\n`,
});
const web = await startStaticServer({ host: '0.0.0.0' });
const hostBrowser = await launchChromium({ extraArgs: ['--ignore-certificate-errors'] });
const nsBrowser = await launchChromium({
  executablePath: ns.chromium,
  extraArgs: ['--ignore-certificate-errors', `--unsafely-treat-insecure-origin-as-secure=http://${ns.hostAddr}:${web.port}`],
});
const pages = [];
try {
  const id = uniqueStreamId('turn_bench');
  const pub = await openTernPage(hostBrowser, web.pageUrl('tern-sdk.html', { ws: server.wsUrl() }), 'publisher');
  pages.push(pub);
  await pub.make('p');
  await pub.waitFor('p', 'initialized');
  await pub.call('p', 'publish', id);
  await pub.waitFor('p', 'publish_started', { timeoutMs: 15_000 });

  const h = ns.hostAddr;
  const paths = [
    { name: 'UDP', block: [] },
    { name: 'ICE-TCP', block: ['udp'] },
    { name: 'TURN/UDP', block: [], servers: () => [{ urls: `turn:${h}:${server.turnPort}?transport=udp`, ...credentials() }] },
    { name: 'TURN/TCP', block: ['udp'], servers: () => [{ urls: `turn:${h}:${server.turnPort}?transport=tcp`, ...credentials() }] },
    { name: 'TURN/TLS', block: ['udp', 'turn-tcp'], servers: () => [{ urls: `turns:${h}:${server.turnsPort}?transport=tcp`, ...credentials() }] },
  ];
  const rows = [];
  for (const path of paths) {
    if (path.block.includes('udp')) await ns.blockUdp();
    if (path.block.includes('turn-tcp')) await ns.blockTcpPort(server.turnPort);
    const times = [];
    for (let i = 0; i < RUNS; i += 1) {
      const q = { ws: server.wsUrl('LiveApp', h), id, firstFrame: '1', retry: '0' };
      if (path.servers) Object.assign(q, { servers: JSON.stringify(path.servers()), relay: '1' });
      const p = await openParticipant(nsBrowser, web.pageUrl('play.html', q, h), `viewer-${path.name}`);
      try {
        const ff = await waitUntil(() => p.page.evaluate(() => (window.firstFrame.statsAt != null ? window.firstFrame : null)),
          { timeoutMs: 30_000, intervalMs: 50, what: `${path.name}: first frame` });
        times.push(ff.statsAt - ff.playCalledAt);
      } finally {
        await p.close();
      }
    }
    await ns.unblockUdp();
    await ns.unblockTcpPort(server.turnPort);
    rows.push({ path: path.name, median: quantile(times, 0.5), p90: quantile(times, 0.9), runs: times.length });
    console.log(`${path.name.padEnd(9)} play() -> first frame: median ${quantile(times, 0.5).toFixed(0)} ms, `
      + `p90 ${quantile(times, 0.9).toFixed(0)} ms (${times.length} runs)`);
  }
  console.log(JSON.stringify(rows));
} finally {
  for (const p of pages) await p.close().catch(() => {});
  for (const b of [nsBrowser, hostBrowser]) await withTimeout(b.close(), 10_000, 'browser.close').catch(() => {});
  await web.close();
  await server.stop();
  await ns.remove();
  await cert.remove();
}
