// Adaptive quality on a constrained link (issue #6). Viewer B runs in a Chromium inside a network namespace
// joined to the host by a veth pair (lib/netns.mjs); a token bucket on the host side's egress limits what
// the server sends B. Viewer A shares the publisher's browser, unconstrained.
//   1. plumbing: B plays a plain (single-layer) stream over the veth, and shaping that veth carries B's media;
//   2. a simulcast stream: A and B ramp up to the top layer (and stay there 5 s); B's link drops to what carries the lowest layer
//      only (its rate × 1.5 + 60 kbit/s);
//      within 10 s B is moved to a lower layer (resolutionChangeInfo, then its <video>) and keeps decoding (no
//      stall over 5 s while it settles, none over 3 s on the layer it is last told), while A stays on top.
//      The time to downswitch is printed (console.log) for the record.
// Needs root (network namespace, veth, tc); without it the file fails in before() saying so. Tern listens on
// 0.0.0.0 and is started after the veth exists: it announces every interface address as an ICE candidate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns } from '../lib/netns.mjs';
import { startTern } from '../lib/tern-server.mjs';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { openTernPage } from '../lib/sdk-harness.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing, selectedPair } from '../lib/media-checks.mjs';
import { startVideoFrameLog, readVideoFrameLog, longestFrameGap, heightRuns } from '../lib/frame-log.mjs';
import { publishSimulcast, waitForLayers, waitForSteadyLayer, lastLayerChange, layerChanges, videoState } from '../lib/simulcast-checks.mjs';
import { sleep, waitUntil, withTimeout } from '../lib/poll.mjs';

const SLOW = { burst: '20kb', latencyMs: 300 };

let ns;
let server;
let web;
let browser;
let nsBrowser;
const pages = [];

before(async () => {
  // The veth first: tern reads the interface addresses for its ICE candidates when it starts.
  ns = await createNetns();
  server = await startTern({ httpAddr: '0.0.0.0:0', mediaAddr: '0.0.0.0:0' });
  web = await startStaticServer({ host: '0.0.0.0' });
  browser = await launchChromium();
  nsBrowser = await launchChromium({ executablePath: ns.chromium });
});

after(async () => {
  for (const p of pages.splice(0)) await p.close();
  for (const b of [nsBrowser, browser]) if (b) await withTimeout(b.close(), 10_000, 'browser.close').catch(() => {});
  await web?.close();
  await server?.stop();
  await ns?.remove(); // throws if the namespace or the veth is left behind
});

/** A page of the root namespace's browser (pages on localhost, tern on 127.0.0.1). */
async function hostPlayer(id, label) {
  const p = await openParticipant(browser, web.pageUrl('play.html', { ws: server.wsUrl(), id }), label);
  pages.push(p);
  return p;
}

/** A player in the namespace: page and signaling through the veth's host address. */
async function namespacePlayer(id, label) {
  const url = web.pageUrl('play.html', { ws: server.wsUrl('LiveApp', ns.hostAddr), id }, ns.hostAddr);
  const p = await openParticipant(nsBrowser, url, label);
  pages.push(p);
  return p;
}

async function ternPublisher() {
  const p = await openTernPage(browser, web.pageUrl('tern-sdk.html', { ws: server.wsUrl() }), 'publisher');
  pages.push(p);
  return p;
}

/** Run a test body; on failure write the pages' evidence, tern's log and the qdisc counters first. */
async function guard(name, fn) {
  try {
    return await fn();
  } catch (e) {
    const q = await ns?.qdiscStats().catch(() => null);
    process.stderr.write(`qdisc on ${ns?.hostIf}: ${JSON.stringify(q)}\n`);
    await dumpEvidence(name, pages, server).catch((err) => process.stderr.write(`evidence dump failed: ${err}\n`));
    throw e;
  } finally {
    await ns?.unshape();
    for (const p of pages.splice(0)) await p.close();
  }
}

test('plumbing: a player inside the namespace plays over the veth, and shaping the veth carries its media', { timeout: 60_000 }, async (t) => {
  await guard('netem-plumbing', async () => {
    const id = uniqueStreamId('plain');
    const pub = await ternPublisher();
    await pub.make('pub');
    await pub.waitFor('pub', 'initialized');
    await pub.call('pub', 'publish', id);
    await pub.waitFor('pub', 'publish_started', { timeoutMs: 15_000 });

    const b = await namespacePlayer(id, 'viewer-B-netns');
    await b.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(b, 15_000);
    await assertMediaFlowing(b, { gapMs: 1200, audio: true });
    const remote = await selectedPair(b);
    assert.equal(remote?.address, ns.hostAddr, `viewer B's media comes from ${JSON.stringify(remote)}, not over the veth (${ns.hostAddr})`);

    await ns.shape(SLOW);
    await sleep(2000);
    const q = await ns.qdiscStats();
    t.diagnostic(`qdisc after 2 s: ${JSON.stringify(q)}`);
    assert.equal(q?.kind, 'tbf', `root qdisc of ${ns.hostIf}: ${JSON.stringify(q)}`);
    assert.ok(q.bytes > 20_000, `the token bucket on ${ns.hostIf} passed only ${q.bytes} bytes in 2 s: B's media does not go through it`);
    await ns.unshape();
    assert.deepEqual((await b.events()).filter((e) => e.kind === 'error').map((e) => e.name), [], 'viewer B SDK errors');
  });
});

test('simulcast: the viewer on a constrained link moves to a lower layer within 10 s; the other stays on top', { timeout: 180_000 }, async (t) => {
  await guard('netem-simulcast', async () => {
    const id = uniqueStreamId('slow');
    const pub = await ternPublisher();
    await publishSimulcast(pub, id);
    const a = await hostPlayer(id, 'viewer-A');
    const b = await namespacePlayer(id, 'viewer-B-netns');
    for (const p of [a, b]) {
      await p.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
      await waitForFirstFrame(p, 15_000);
      await startVideoFrameLog(p, '#remoteVideo');
    }
    assert.equal((await selectedPair(b))?.address, ns.hostAddr, 'viewer B receives over the veth');

    // All three layers: a loaded Chromium may add its top layer seconds after the others.
    const { heights, info } = await waitForLayers(a, id, { min: 3, timeoutMs: 30_000 });
    const top = heights[0];
    t.diagnostic(`layers: ${JSON.stringify(info)}`);
    // The server ramps each player up as its estimate of the player's link grows (it may first start a player
    // on the top layer and take it down once it has measured): wait until both have stayed on top for 5 s.
    // Viewer A is pinned to the top layer (forceStreamQuality): it is the control beside B, and an automatic
    // viewer that started low can stay low while str0m's estimate of its open link stays frozen (an open
    // product gap, issue #14's closing note); B, the subject, stays automatic.
    await a.page.evaluate(([sid, h]) => window.adaptor.forceStreamQuality(sid, h), [id, top]);
    const rampFrom = Date.now();
    // A loaded machine can make the estimate dip and the layer step down on the open link too; the hold after
    // a step down and the climb back take tens of seconds then. The wait ends as soon as both hold the top.
    await Promise.all([a, b].map((p) => waitForSteadyLayer(p, top, { holdMs: 5000, timeoutMs: 60_000, what: 'ramping up' })));
    t.diagnostic(`both viewers steadily on ${top}p ${Date.now() - rampFrom} ms after the layers were listed`);

    // The link must be too slow for the top layer yet carry the lowest one. How heavy each layer is depends on
    // the machine (a loaded one makes Chromium send fewer or lighter layers), and the upper layers' rates swing
    // widely, so the rate follows the lowest layer's, which is steady: half again plus room for audio.
    const now = (await waitForLayers(a, id, { min: 2, timeoutMs: 10_000 })).info;
    const lowBps = now[now.length - 1].videoBitrate;
    const rateKbit = Math.max(200, Math.round((lowBps * 1.5) / 1000 + 60));
    t.diagnostic(`shaping B's link to ${rateKbit} kbit/s (layers now: ${JSON.stringify(now.map((l) => [l.streamHeight, l.videoBitrate]))})`);
    const shapedAt = Date.now();
    await ns.shape({ ...SLOW, rateKbit });
    const down = await waitUntil(() => {
      const c = lastLayerChange(b, shapedAt);
      return c && c.height < top ? c : null;
    }, { timeoutMs: 10_000, what: `viewer B: a resolutionChangeInfo below ${top}p after its link dropped to ${rateKbit} kbit/s` });
    const downswitchMs = down.at - shapedAt;
    console.log(`simulcast-netem: time to downswitch ${downswitchMs} ms (${top}p -> ${down.height}p at ${rateKbit} kbit/s)`);
    t.diagnostic(`time to downswitch ${downswitchMs} ms (${top}p -> ${down.height}p)`);
    // The wait is for B's own event, a frame shown at the lower height. The new layer's keyframe can be lost on
    // the full link; then Chromium asks again (PLI) once it sees frames it cannot decode, which on a loaded
    // machine takes seconds: the bound is generous, the loop ends as soon as the frame is there.
    const shown = await waitUntil(async () => {
      const v = await videoState(b);
      return v.videoHeight > 0 && v.videoHeight < top ? v : null;
    }, { timeoutMs: 20_000, what: `viewer B's <video> below ${top}p after resolutionChangeInfo ${down.height}p` });
    const shownAt = Date.now();
    t.diagnostic(`viewer B's <video> at ${shown.videoHeight}p ${shownAt - shapedAt} ms after the link dropped`);

    // Some seconds on the slow link: B goes on decoding, A is untouched.
    await sleep(4000);
    // The server may still move B once more (a loaded Chromium makes its upper layers lighter, and then one
    // fits the slow link): each switch waits for the new layer's keyframe. Judge steadiness from the moment B
    // shows the layer it was last told, over at least 4 s.
    const last = lastLayerChange(b, shapedAt);
    let settledFrom = shownAt;
    if (last.at > shownAt) {
      const first = await waitUntil(async () => (await readVideoFrameLog(b)).find((f) => f.t >= last.at && f.h === last.height), {
        timeoutMs: 20_000, what: `viewer B's <video> at ${last.height}p after its later resolutionChangeInfo`,
      });
      settledFrom = first.t;
      await sleep(Math.max(0, settledFrom + 4000 - Date.now()));
    }
    await assertMediaFlowing(b, { gapMs: 1500, audio: true });
    const bFrames = await readVideoFrameLog(b);
    // Once its <video> shows its last layer, B decodes on; no stall since the first switch is long either.
    const settled = longestFrameGap(bFrames, settledFrom, Date.now());
    const sinceShown = longestFrameGap(bFrames, shownAt, Date.now());
    const aFrames = await readVideoFrameLog(a);
    t.diagnostic(`viewer B: heights ${JSON.stringify(heightRuns(bFrames).map((r) => `${r.h}p×${r.frames}`))}, told ${JSON.stringify(layerChanges(b))}; `
      + `longest gap from shaping ${longestFrameGap(bFrames, shapedAt).gapMs} ms, after the first switch ${sinceShown.gapMs} ms, on the last layer ${settled.gapMs} ms`);
    t.diagnostic(`viewer A: heights ${JSON.stringify(heightRuns(aFrames).map((r) => `${r.h}p×${r.frames}`))}, told ${JSON.stringify(layerChanges(a))}`);
    t.diagnostic(`qdisc: ${JSON.stringify(await ns.qdiscStats())}`);
    assert.ok(settled.gapMs <= 3000, `viewer B stopped presenting video for ${settled.gapMs} ms on its last layer: ${JSON.stringify(settled)}`);
    assert.ok(sinceShown.gapMs <= 5000, `viewer B stopped presenting video for ${sinceShown.gapMs} ms after its first switch: ${JSON.stringify(sinceShown)}`);
    assert.ok(lastLayerChange(b).height < top, `viewer B was moved back to ${lastLayerChange(b).height}p on the slow link`);
    assert.equal(lastLayerChange(a)?.height, top, `viewer A was last told ${lastLayerChange(a)?.height}p; all: ${JSON.stringify(layerChanges(a))}`);
    assert.equal((await videoState(a)).videoHeight, top, 'viewer A <video> height at the end');
    await assertMediaFlowing(a, { gapMs: 1200, audio: true });
    for (const p of [a, b]) {
      assert.deepEqual((await p.events()).filter((e) => e.kind === 'error').map((e) => e.name), [], `${p.label} SDK errors`);
    }
  });
});
