// Tern's built-in TURN server (issue #18) with browsers that may use relayed candidates only
// (iceTransportPolicy "relay"), taking their servers from getIceServerConfig:
//   - the official SDK publishes and plays through it over UDP;
//   - Tern's SDK publishes and plays through it over TCP when the namespace drops all UDP;
//   - Tern's SDK publishes and plays through it over TLS (turns:) when TCP to the TURN port is dropped too.
// Each is shown by the local candidate of the selected pair (getStats: candidateType relay, relayProtocol).
// One port: where the namespace reaches only the HTTPS port over TCP, Tern's play sample page, served by Tern,
// loads, signals and plays through that port (ICE-TCP or TURN over TLS, both demultiplexed there).
// Browsers run in a network namespace (lib/netns.mjs); needs root, as the ICE-TCP test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns } from '../lib/netns.mjs';
import { startTern } from '../lib/tern-server.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { openTernPage } from '../lib/sdk-harness.mjs';
import { makeSelfSignedCert } from '../lib/tls-cert.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing, selectedPair } from '../lib/media-checks.mjs';
import { waitUntil, withTimeout } from '../lib/poll.mjs';

let ns;
let plain;
let secure;
let cert;
let web;
let nsBrowser;
let hostBrowser;
const pages = [];

before(async () => {
  ns = await createNetns();
  cert = await makeSelfSignedCert([ns.hostAddr]);
  // Servers start after the veth exists: their media candidates include its address.
  const common = { httpAddr: '0.0.0.0:0', mediaAddr: '0.0.0.0:0', turnAddr: '0.0.0.0:0', extraArgs: ['--media-workers', '1'] };
  plain = await startTern(common);
  secure = await startTern({ ...common, tls: cert, configToml: '[turn]\ntls_addr = "0.0.0.0:0"\n' });
  assert.ok(plain.turnPort && secure.turnsPort, 'both servers name their TURN listeners');
  web = await startStaticServer({ host: '0.0.0.0' });
  // The TLS server's certificate is self-signed: trusted for signaling and TURN/TLS alike. Pages come from
  // http://<host side>: a camera needs it treated as a secure context.
  nsBrowser = await launchChromium({
    executablePath: ns.chromium,
    extraArgs: ['--ignore-certificate-errors', `--unsafely-treat-insecure-origin-as-secure=http://${ns.hostAddr}:${web.port}`],
  });
  hostBrowser = await launchChromium({ extraArgs: ['--ignore-certificate-errors'] });
});

after(async () => {
  for (const p of pages.splice(0)) await p.close();
  for (const b of [nsBrowser, hostBrowser]) if (b) await withTimeout(b.close(), 10_000, 'browser.close').catch(() => {});
  await web?.close();
  await plain?.stop();
  await secure?.stop();
  await ns?.remove();
  await cert?.remove();
});

async function guard(name, server, fn) {
  try {
    return await fn();
  } catch (e) {
    await dumpEvidence(name, pages, server).catch((err) => process.stderr.write(`evidence dump failed: ${err}\n`));
    throw e;
  } finally {
    await ns?.unblockUdp();
    await ns?.allowAllTcp();
    for (const s of [plain, secure]) if (s?.turnPort) await ns?.unblockTcpPort(s.turnPort);
    for (const p of pages.splice(0)) await p.close();
  }
}

/** An official-SDK page in the namespace that takes the server's ICE servers and relays only. */
async function officialPage(page, server, id, label) {
  const url = web.pageUrl(page, { ws: server.wsUrl('LiveApp', ns.hostAddr), id, ice: 'server', relay: '1' }, ns.hostAddr);
  const p = await openParticipant(nsBrowser, url, label);
  pages.push(p);
  return p;
}

/** A Tern-SDK page in the namespace, relayed candidates only, servers from getIceServerConfig. */
async function ternPage(server, label, options) {
  const p = await openTernPage(nsBrowser, web.pageUrl('tern-sdk.html', { ws: server.wsUrl('LiveApp', ns.hostAddr) }, ns.hostAddr), label);
  pages.push(p);
  const name = options.isPlayMode ? 'v' : 'p';
  await p.make(name, { ...options, peerconnection_config: { iceTransportPolicy: 'relay' } });
  await p.waitFor(name, 'initialized');
  return p;
}

async function ternPublisher(server, id, label) {
  const p = await ternPage(server, label, {});
  await p.call('p', 'publish', id);
  await p.waitFor('p', 'publish_started', { timeoutMs: 30_000 });
  return p;
}

async function ternPlayer(server, id, label) {
  const p = await ternPage(server, label, { isPlayMode: true, remoteVideoId: 'remoteVideo' });
  await p.page.evaluate(([sid]) => window.watchStats('v', sid), [id]);
  await p.call('v', 'play', id);
  await p.waitFor('v', 'play_started', { timeoutMs: 30_000 });
  return p;
}

async function relayedVia(p, protocol, opts) {
  let pair = null;
  await waitUntil(async () => {
    pair = await selectedPair(p, opts);
    return pair?.localType === 'relay' ? pair : null;
  }, { timeoutMs: 10_000, what: `${p.label}: a relayed selected pair` }).catch(() => {});
  assert.equal(pair?.localType, 'relay', `${p.label}: pair ${JSON.stringify(pair)}`);
  assert.equal(pair?.relayProtocol, protocol, `${p.label}: pair ${JSON.stringify(pair)}`);
}

/** Publish `id` from the official SDK in the namespace, relayed over UDP. */
async function relayedPublisher(server, id) {
  const pub = await officialPage('publish.html', server, id, 'publisher-relay');
  await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 30_000 });
  return pub;
}

test('the official SDK publishes and plays through Tern\'s TURN over UDP', { timeout: 90_000 }, async () => {
  await guard('turn-udp', plain, async () => {
    const id = uniqueStreamId('turn_udp');
    const pub = await relayedPublisher(plain, id);
    const b = await officialPage('play.html', plain, id, 'viewer-relay-udp');
    await b.waitForEvent('play_started', { kind: 'callback', timeoutMs: 30_000 });
    await waitForFirstFrame(b, 30_000);
    await assertMediaFlowing(b, { gapMs: 1500, audio: true });
    await relayedVia(b, 'udp');
    // The publisher's own connection is relayed too (its pc is the SDK's remotePeerConnection[id]).
    await relayedVia(pub, 'udp');
    // Between the relay sockets and the media workers, datagrams are handed over in the process (counted
    // there, once a second for the relay's own figures).
    await waitUntil(async () => {
      const text = await (await fetch(`http://127.0.0.1:${plain.httpPort}/metrics`)).text();
      const value = (name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return value('tern_turn_in_process_datagrams_total') > 100 && value('tern_turn_allocations') >= 2
        && value('tern_turn_relayed_bytes_total') > 10_000;
    }, { timeoutMs: 5000, what: '/metrics: datagrams relayed in the process, allocations, relayed bytes' });
  });
});

test('Tern\'s SDK publishes and plays through Tern\'s TURN over TCP where UDP is dropped', { timeout: 90_000 }, async () => {
  await guard('turn-tcp', plain, async () => {
    const id = uniqueStreamId('turn_tcp');
    await ns.blockUdp();
    const pub = await ternPublisher(plain, id, 'publisher-relay-tcp');
    const b = await ternPlayer(plain, id, 'viewer-relay-tcp');
    await waitForFirstFrame(b, 30_000);
    await assertMediaFlowing(b, { gapMs: 1500, audio: true });
    await relayedVia(b, 'tcp', { adaptor: 'v', streamId: id });
    await relayedVia(pub, 'tcp', { adaptor: 'p', streamId: id });
  });
});

test('Tern\'s SDK publishes and plays through Tern\'s TURN over TLS (turns:) where only the TLS port is open', { timeout: 90_000 }, async () => {
  await guard('turn-tls', secure, async () => {
    const id = uniqueStreamId('turn_tls');
    await ns.blockUdp();
    await ns.blockTcpPort(secure.turnPort);
    const pub = await ternPublisher(secure, id, 'publisher-relay-tls');
    const b = await ternPlayer(secure, id, 'viewer-relay-tls');
    await waitForFirstFrame(b, 30_000);
    await assertMediaFlowing(b, { gapMs: 1500, audio: true });
    await relayedVia(b, 'tls', { adaptor: 'v', streamId: id });
    await relayedVia(pub, 'tls', { adaptor: 'p', streamId: id });
  });
});

test('one port: with only TCP to the HTTPS port open, Tern\'s sample page loads, signals and plays through it', { timeout: 90_000 }, async () => {
  await guard('one-port', secure, async () => {
    const id = uniqueStreamId('one_port');
    // The publisher is outside the namespace, on localhost.
    const pub = await openTernPage(hostBrowser, web.pageUrl('tern-sdk.html', { ws: secure.wsUrl() }), 'publisher-host');
    pages.push(pub);
    await pub.make('p');
    await pub.waitFor('p', 'initialized');
    await pub.call('p', 'publish', id);
    await pub.waitFor('p', 'publish_started', { timeoutMs: 15_000 });
    await ns.blockUdp();
    await ns.allowOnlyTcpPort(secure.httpPort);
    const url = `https://${ns.hostAddr}:${secure.httpPort}/LiveApp/play.html?id=${id}&autoplay=1`;
    const b = await openParticipant(nsBrowser, url, 'viewer-one-port');
    pages.push(b);
    const frames = () => b.page.evaluate(() => document.getElementById('remoteVideo')?.getVideoPlaybackQuality?.().totalVideoFrames ?? 0);
    await waitUntil(async () => (await frames()) > 0, { timeoutMs: 30_000, what: 'viewer-one-port: a decoded frame' });
    const first = await frames();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok((await frames()) > first, 'frames keep coming through the one port');
  });
});
