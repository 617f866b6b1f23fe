// Cluster mode on a real Redis with three Tern processes (A, B, C): a stream published on A plays on B
// and C through the origin–edge relay; a stream id is published on one node at a time; a one-time token
// is good once across the cluster; a Redis restart leaves flowing media alone; a killed origin's players
// keep playing when its publisher comes back on another node within the failover window, and are finished
// (with its records) within 5 s when it does not. A simulcast publisher's layers all cross the
// relay, so a player on another node is switched between them as on the origin. A publisher that drops (not its
// node) may come back on another node within the window: that node takes the stream over, and the players on
// every node play on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStaticServer } from '../lib/static-server.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { openParticipant, dumpEvidence } from '../lib/participant.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { waitUntil, withTimeout, sleep } from '../lib/poll.mjs';
import { startRedis, startNode, members } from '../lib/cluster.mjs';
import { waitForRemoteVideos, assertRemoteTracks, describeTracks } from '../lib/room-checks.mjs';
import { startFrameLog, readFrameLog, analyseStall, waitForVideoAgain } from '../lib/frame-log.mjs';
import { openTernPage } from '../lib/sdk-harness.mjs';
import { publishSimulcast, waitForLayers, forceQuality } from '../lib/simulcast-checks.mjs';

let redis;
let nodes = {};
let web;
let browser;
const participants = [];
const id = uniqueStreamId('cl');
let publisher;
let players = {};

// Plays of WebRTCAppEE need a one-time token (the token race below); LiveApp is open, with the default
// restore window (10 s); ShortApp's is 4 s (its settings are the ones a test changes through REST). An edge
// whose origin died keeps its players waiting at most 4.5 s (the cluster's failover window), whatever the app's.
const SHORT_WINDOW_MS = 4000;
const FAILOVER_MS = 4500;
const config = '[apps.WebRTCAppEE]\nplayTokenControlEnabled = true\n'
  + `[apps.ShortApp]\nwebRTCClientStartTimeoutMs = ${SHORT_WINDOW_MS}\n`;
const named = (evs, name) => evs.filter((e) => e.name === name);

before(async () => {
  redis = await startRedis();
  for (const name of ['A', 'B', 'C']) nodes[name] = await startNode(redis, name, { configToml: config });
  web = await startStaticServer();
  browser = await launchChromium();
});

after(async () => {
  for (const p of participants) await p.close().catch(() => {});
  await withTimeout(browser?.close() ?? Promise.resolve(), 10_000, 'browser.close').catch(() => {});
  await web?.close();
  for (const n of Object.values(nodes)) await n.stop();
  await redis?.stop();
});

async function open(page, node, streamId, label, extra = {}) {
  const url = web.pageUrl(page, { ws: node.wsUrl(extra.app ?? 'LiveApp'), id: streamId, ...extra });
  const p = await openParticipant(browser, url, label);
  participants.push(p);
  return p;
}

async function guard(name, fn) {
  try {
    return await fn();
  } catch (e) {
    for (const n of Object.values(nodes)) {
      await dumpEvidence(`${name}-${n.name}`, participants, n).catch(() => {});
    }
    throw e;
  }
}

/**
 * The players (by node name) decode again after the publisher's move at `since`, in the session they had: no
 * play_finished, one play_started. Their stalls go to the diagnostics.
 */
async function assertPlayedOn(t, watchers, since, what) {
  for (const [name, w] of Object.entries(watchers)) {
    await waitForVideoAgain(w, since, { timeoutMs: 10_000 });
    await assertMediaFlowing(w, { gapMs: 1200, audio: true });
    const evs = await w.events();
    assert.deepEqual(named(evs, 'play_finished'), [], `the player on ${name} got play_finished although the publisher came back`);
    assert.equal(named(evs, 'play_started').length, 1, `the player on ${name} played once: ${evs.map((e) => e.name)}`);
    const stall = analyseStall(await readFrameLog(w), since);
    t.diagnostic(`player on ${name}: ${what} -> decoding again ${stall.dropToResumeMs} ms (longest stall ${stall.stallMs} ms)`);
  }
}

test('every node lists the three members, serving', { timeout: 30_000 }, async () => {
  const list = await waitUntil(async () => {
    const l = await members(nodes.C);
    return l.length === 3 ? l : null;
  }, { timeoutMs: 10_000, what: 'three members' });
  assert.deepEqual(list.map((n) => n.id), ['A', 'B', 'C']);
  for (const n of list) {
    assert.equal(n.state, 'serving');
    assert.equal(n.httpUrl, nodes[n.id].url);
    // Its media workers' UDP addresses (one worker each here) and the address its relays bind to.
    assert.ok(n.mediaAddresses.length >= 1 && n.mediaAddresses.every((a) => /^127\.0\.0\.1:\d+$/.test(a)), JSON.stringify(n.mediaAddresses));
    assert.equal(n.relayIp, '127.0.0.1');
  }
  // Ant Media's server-wide path answers the same (from loopback, which the console allows).
  const root = await (await fetch(`${nodes.A.url}/rest/v2/cluster/nodes`, { signal: AbortSignal.timeout(5000) })).json();
  assert.deepEqual(root.map((n) => n.id), ['A', 'B', 'C']);
});

test('a settings change through REST on A is in force on B and C within 3 s', { timeout: 30_000 }, async (t) => {
  const before = (await nodes.B.rest('GET', '/settings', undefined, 'ShortApp')).json;
  const limit = before.webRTCViewerLimit === 77 ? 78 : 77;
  const put = await nodes.A.rest('PUT', '/settings', { webRTCViewerLimit: limit }, 'ShortApp');
  assert.equal(put.status, 200, put.text);
  const changedAt = Date.now();
  for (const name of ['B', 'C']) {
    await waitUntil(async () => (await nodes[name].rest('GET', '/settings', undefined, 'ShortApp')).json?.webRTCViewerLimit === limit,
      { timeoutMs: 3_000, intervalMs: 50, what: `the new limit on ${name}` });
    t.diagnostic(`${name}: new setting in force after ${Date.now() - changedAt} ms`);
  }
});

test('simulcast across the relay: a player on B lists the layers of a publisher on A and is switched to the lowest and the top', { timeout: 120_000 }, async (t) => {
  await guard('cluster-simulcast', async () => {
    const sid = uniqueStreamId('clsim');
    const pub = await openTernPage(browser, web.pageUrl('tern-sdk.html', { ws: nodes.A.wsUrl('LiveApp') }), 'simulcast-publisher-A');
    participants.push(pub);
    await publishSimulcast(pub, sid);
    const viewer = await open('play.html', nodes.B, sid, 'simulcast-player-B');
    await viewer.waitForEvent('play_started', { kind: 'callback', timeoutMs: 20_000 });
    await waitForFirstFrame(viewer, 20_000);
    // B learns the layers from what the relay brings: with one layer relayed it would list one.
    const { heights, info } = await waitForLayers(viewer, sid, { min: 2, timeoutMs: 30_000 });
    t.diagnostic(`layers on B: ${JSON.stringify(info.map((l) => [l.streamHeight, l.videoBitrate]))}`);
    for (const h of [heights[heights.length - 1], heights[0]]) {
      const s = await forceQuality(viewer, sid, h, { timeoutMs: 15_000 });
      t.diagnostic(`force ${h}p on B: told after ${s.toldAt - s.forcedAt} ms, <video> after ${s.shownAt - s.forcedAt} ms`);
    }
    await assertMediaFlowing(viewer, { gapMs: 1500, audio: true });
    // What the relay carries: every layer, by the rates B measured.
    const rates = (await waitForLayers(viewer, sid, { min: 2, timeoutMs: 10_000 })).info.map((l) => l.videoBitrate);
    t.diagnostic(`layer rates on B ${JSON.stringify(rates)}: the relay carries ${(rates.reduce((a, b) => a + b, 0) / rates[0]).toFixed(2)}× the top layer`);
    // One relay carries them all: B's players count once on A (its relay is not a viewer there).
    await waitUntil(async () => (await nodes.A.rest('GET', `/broadcasts/${sid}`)).json?.webRTCViewerCount === 1,
      { timeoutMs: 10_000, what: 'one viewer of the simulcast stream in REST on A' });
    // Three encoded layers cost the shared CPU: free it for the tests that follow. (First of the tests that
    // open the fake camera: it is opened at 1280x720 only while no other page of the browser holds it.)
    for (const p of [viewer, pub]) await p.close().catch(() => {});
  });
});

test('published on A, played on B and C: both decode; REST on C names A as the origin', { timeout: 90_000 }, async (t) => {
  await guard('cluster-play', async () => {
    publisher = await open('publish.html', nodes.A, id, 'publisher-A');
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    for (const name of ['B', 'C']) {
      players[name] = await open('play.html', nodes[name], id, `player-${name}`, { firstFrame: '1' });
    }
    for (const p of Object.values(players)) await waitForFirstFrame(p, 20_000);
    const samples = await Promise.all(Object.values(players).map((p) => assertMediaFlowing(p, { gapMs: 1500, audio: true })));
    samples.forEach((s, i) => t.diagnostic(`player ${i}: ${JSON.stringify(s.after)}`));
    const b = await waitUntil(async () => {
      const r = await nodes.C.rest('GET', `/broadcasts/${id}`);
      return r.status === 200 && r.json.status === 'broadcasting' ? r.json : null;
    }, { timeoutMs: 10_000, what: 'broadcasting in REST on C' });
    assert.equal(b.originAdress, nodes.A.url, 'the origin is A');
    // The viewers of B and C, summed: REST on C counts B's player too.
    const counted = await waitUntil(async () => {
      const r = await nodes.C.rest('GET', `/broadcasts/${id}`);
      return r.json?.webRTCViewerCount === 2 ? r.json : null;
    }, { timeoutMs: 10_000, what: 'two viewers in REST on C' });
    t.diagnostic(`REST on C: webRTCViewerCount ${counted.webRTCViewerCount}`);
    const onA = await waitUntil(async () => {
      const l = await members(nodes.A);
      const a = l.find((n) => n.id === 'A');
      const bNode = l.find((n) => n.id === 'B');
      return a?.origins === 1 && bNode?.players >= 1 ? l : null;
    }, { timeoutMs: 10_000, what: 'A announces one origin, B a player' });
    t.diagnostic(JSON.stringify(onA.map((n) => ({ id: n.id, publishers: n.publishers, players: n.players, origins: n.origins }))));
  });
});

test('the publisher\'s data channel messages reach the players on B and C through the relays', { timeout: 60_000 }, async (t) => {
  await guard('cluster-data', async () => {
    await waitUntil(() => publisher.page.evaluate(() => window.dataChannelState() === 'open'),
      { timeoutMs: 10_000, what: 'publisher data channel open' });
    for (const p of Object.values(players)) {
      await p.waitForEvent('data_channel_opened', { kind: 'callback', timeoutMs: 10_000 });
    }
    const text = `across the cluster ${Date.now()}`;
    await publisher.page.evaluate((x) => window.sendText(x), text);
    for (const [name, p] of Object.entries(players)) {
      await waitUntil(async () => (await p.events()).some((e) => e.name === 'data_received' && e.data?.data === text),
        { timeoutMs: 10_000, what: `data_received on ${name}` });
    }
    t.diagnostic('both edges delivered the message');
  });
});

test('the same stream id published on B while A publishes it: streamIdInUse', { timeout: 60_000 }, async () => {
  await guard('cluster-in-use', async () => {
    const second = await open('publish.html', nodes.B, id, 'second-publisher-B');
    await second.waitForEvent('streamIdInUse', { kind: 'error', timeoutMs: 15_000 });
    await second.close();
    participants.splice(participants.indexOf(second), 1);
    // A's stream is untouched.
    await assertMediaFlowing(players.B, { gapMs: 1200, audio: false });
  });
});

test('HTTP discovery sends a new SDK player to the least loaded node, where it plays', { timeout: 60_000 }, async (t) => {
  await guard('cluster-discovery', async () => {
    const list = await members(nodes.A);
    const peers = (n) => n.publishers + n.players;
    const least = Math.min(...list.map(peers));
    const res = await fetch(`${nodes.A.url}/LiveApp/discovery?source=sdk`, { signal: AbortSignal.timeout(5000) });
    const found = await res.json();
    const chosen = list.find((n) => found.websocket_url === `ws://127.0.0.1:${nodes[n.id].httpPort}/LiveApp/websocket`);
    assert.ok(chosen, `discovery names a member: ${JSON.stringify(found)}`);
    t.diagnostic(`loads ${JSON.stringify(list.map((n) => [n.id, peers(n)]))}; chosen ${chosen.id}`);
    assert.equal(peers(chosen), least, 'the chosen node has the fewest peers');
    assert.notEqual(chosen.id, 'A', 'not the origin, which holds the publisher and the relays');
    const p = await open('play.html', nodes.A, id, 'discovered-player', { endpoint: `${nodes.A.url}/LiveApp/discovery` });
    await waitForFirstFrame(p, 20_000);
    const used = await p.page.evaluate(() => window.adaptor.webSocketAdaptor?.websocketURL);
    // B and C may tie: the SDK's own discovery, a moment later, may pick the other one of the least loaded.
    const usedNode = list.find((n) => String(nodes[n.id].httpPort) === new URL(used).port);
    assert.ok(usedNode && peers(usedNode) === least && usedNode.id !== 'A', `the SDK connected to ${used}`);
    t.diagnostic(`the SDK player plays from ${usedNode.id}`);
    await p.close();
    participants.splice(participants.indexOf(p), 1);
  });
});

test('a conference room with a participant on each of A, B and C: each decodes the other two', { timeout: 120_000 }, async (t) => {
  await guard('cluster-room', async () => {
    const room = uniqueStreamId('room');
    const ids = { A: uniqueStreamId('ra'), B: uniqueStreamId('rb'), C: uniqueStreamId('rc') };
    const pages = {};
    for (const k of ['A', 'B', 'C']) {
      const url = web.pageUrl('conference.html', { ws: nodes[k].wsUrl(), id: ids[k], room });
      pages[k] = await openParticipant(browser, url, `participant-${k}`);
      participants.push(pages[k]);
      await pages[k].waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000, match: (d) => d?.streamId === ids[k] });
    }
    const others = (k) => Object.keys(ids).filter((x) => x !== k).map((x) => ids[x]);
    for (const k of ['A', 'B', 'C']) await waitForRemoteVideos(pages[k], others(k), 30_000);
    const samples = await Promise.all(['A', 'B', 'C'].map((k) => assertRemoteTracks(pages[k], { flowing: others(k), gapMs: 1500, audio: true })));
    samples.forEach((s, i) => t.diagnostic(`${'ABC'[i]}: ${describeTracks(s.after)}`));
    for (const k of ['A', 'B', 'C']) {
      await pages[k].close();
      participants.splice(participants.indexOf(pages[k]), 1);
    }
  });
});

test('a play-only viewer of a room on C, whose participants are on A and B: it decodes both', { timeout: 90_000 }, async (t) => {
  await guard('cluster-room-viewer', async () => {
    const room = uniqueStreamId('hall');
    const ids = { A: uniqueStreamId('ha'), B: uniqueStreamId('hb') };
    const pages = {};
    for (const k of ['A', 'B']) {
      const url = web.pageUrl('conference.html', { ws: nodes[k].wsUrl(), id: ids[k], room });
      pages[k] = await openParticipant(browser, url, `speaker-${k}`);
      participants.push(pages[k]);
      await pages[k].waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000, match: (d) => d?.streamId === ids[k] });
    }
    // C has no participant of the room: its viewer's play makes C relay both speakers into its part of the room.
    const viewer = await openParticipant(browser, web.pageUrl('conference.html', { ws: nodes.C.wsUrl(), id: uniqueStreamId('hv'), room, publish: 'none' }), 'room-viewer-C');
    participants.push(viewer);
    await waitForRemoteVideos(viewer, Object.values(ids), 30_000);
    const s = await assertRemoteTracks(viewer, { flowing: Object.values(ids), gapMs: 1500, audio: true });
    t.diagnostic(`viewer on C: ${describeTracks(s.after)}`);
    for (const p of [...Object.values(pages), viewer]) {
      await p.close();
      participants.splice(participants.indexOf(p), 1);
    }
  });
});

test('one one-time token presented at once on A, B and C: exactly one play gets in', { timeout: 60_000 }, async (t) => {
  await guard('cluster-token', async () => {
    const sid = uniqueStreamId('tk');
    const pub = await open('publish.html', nodes.A, sid, 'token-publisher', { app: 'WebRTCAppEE' });
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const expireDate = Math.floor(Date.now() / 1000) + 600;
    const minted = await nodes.B.rest('GET', `/broadcasts/${sid}/token?expireDate=${expireDate}&type=play`, undefined, 'WebRTCAppEE');
    assert.equal(minted.status, 200, minted.text);
    const token = minted.json.tokenId;
    const urls = ['A', 'B', 'C'].map((n) => nodes[n].wsUrl('WebRTCAppEE'));
    // One page opens the three sockets, then sends the three plays in the same tick.
    const outcomes = await pub.page.evaluate(async ({ urls, sid, token }) => {
      const sockets = await Promise.all(urls.map((u) => new Promise((resolve, reject) => {
        const ws = new WebSocket(u);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error(`cannot open ${u}`));
      })));
      const answers = sockets.map((ws) => new Promise((resolve) => {
        const timer = setTimeout(() => resolve('no answer'), 10000);
        ws.onmessage = (m) => {
          const v = JSON.parse(m.data);
          if (v.command === 'error') { clearTimeout(timer); resolve(`error:${v.definition}`); }
          if (v.command === 'takeConfiguration') { clearTimeout(timer); resolve('offer'); }
        };
      }));
      for (const ws of sockets) ws.send(JSON.stringify({ command: 'play', streamId: sid, token }));
      const out = await Promise.all(answers);
      sockets.forEach((ws) => ws.close());
      return out;
    }, { urls, sid, token });
    t.diagnostic(`A, B, C: ${outcomes.join(', ')}`);
    assert.equal(outcomes.filter((o) => o === 'offer').length, 1, `exactly one offer: ${outcomes}`);
    assert.equal(outcomes.filter((o) => o === 'error:unauthorized_access').length, 2, `two refusals: ${outcomes}`);
    await pub.page.evaluate((s) => window.adaptor?.stop?.(s), sid).catch(() => {});
  });
});

test('Redis killed and restarted while A relays to B: B keeps decoding; a new player on C works after', { timeout: 90_000 }, async (t) => {
  await guard('cluster-redis-restart', async () => {
    const port = redis.port;
    await redis.kill();
    await sleep(3000); // longer than a heartbeat lasts
    await assertMediaFlowing(players.B, { gapMs: 1200, audio: false });
    redis = await startRedis(port);
    // Every node announces itself and its streams again.
    await waitUntil(async () => {
      const r = await nodes.B.rest('GET', `/broadcasts/${id}`).catch(() => null);
      return r?.status === 200 && r.json.status === 'broadcasting';
    }, { timeoutMs: 10_000, what: 'the stream re-announced as broadcasting' });
    await waitUntil(async () => (await members(nodes.B).catch(() => [])).length === 3, { timeoutMs: 10_000, what: 'three members again' });
    await assertMediaFlowing(players.B, { gapMs: 1200, audio: false });
    await players.C.close();
    participants.splice(participants.indexOf(players.C), 1);
    await sleep(500);
    players.C = await open('play.html', nodes.C, id, 'player-C-after-restart');
    await waitForFirstFrame(players.C, 20_000);
    t.diagnostic('new player on C decodes after the Redis restart');
  });
});

test('a node at its CPU limit refuses new publishes with highResourceUsage and is left out of discovery; SIGTERM takes a node out at once', { timeout: 60_000 }, async () => {
  await guard('cluster-limits', async () => {
    nodes.D = await startNode(redis, 'D', { configToml: config, env: { TERN_CLUSTER_MAX_CPU_PERCENT: '0' } });
    const d = await waitUntil(async () => (await members(nodes.B)).find((n) => n.id === 'D' && n.state === 'overloaded'), { timeoutMs: 5_000, what: 'D overloaded in the members' });
    assert.equal(d.publishers + d.players, 0, 'D is idle, yet at its limit');
    const refused = await open('publish.html', nodes.D, uniqueStreamId('over'), 'publisher-D');
    await refused.waitForEvent('highResourceUsage', { kind: 'error', timeoutMs: 10_000 });
    await refused.close();
    participants.splice(participants.indexOf(refused), 1);
    const found = await (await fetch(`${nodes.D.url}/LiveApp/discovery?source=sdk`, { signal: AbortSignal.timeout(5000) })).json();
    assert.ok(!found.websocket_url.includes(`:${nodes.D.httpPort}/`), `D sends clients elsewhere: ${found.websocket_url}`);
    const stoppedAt = Date.now();
    nodes.D.kill('SIGTERM');
    await waitUntil(async () => !(await members(nodes.B)).some((n) => n.id === 'D'), { timeoutMs: 5_000, intervalMs: 50, what: 'D gone from the members' });
    assert.ok(Date.now() - stoppedAt < 5_000);
    await nodes.D.waitExit(10_000);
    delete nodes.D;
  });
});

test('a publisher that drops on A and comes back on B within the window: B takes the stream over, players on A, B and C keep playing', { timeout: 90_000 }, async (t) => {
  await guard('cluster-takeover', async () => {
    const moved = uniqueStreamId('takeover');
    const first = await open('publish.html', nodes.A, moved, 'publisher-drops-A');
    await first.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const watchers = {};
    for (const name of ['A', 'B', 'C']) watchers[name] = await open('play.html', nodes[name], moved, `takeover-watcher-${name}`, { firstFrame: '1' });
    for (const w of Object.values(watchers)) {
      await waitForFirstFrame(w, 20_000);
      await startFrameLog(w);
    }
    await sleep(500);
    // The page goes without `stop` (its network, say): A keeps the stream for its restore window.
    const droppedAt = Date.now();
    await first.close();
    participants.splice(participants.indexOf(first), 1);
    // A load balancer sends the encoder's new connection to B, which relays the stream from A for its player.
    const again = await open('publish.html', nodes.B, moved, 'publisher-back-on-B');
    const back = await waitUntil(async () => (await again.events()).find((e) => ['session_restored', 'publish_started'].includes(e.name)),
      { timeoutMs: 10_000, what: 'the publish on B accepted' });
    t.diagnostic(`drop -> ${back.name} on B ${Date.now() - droppedAt} ms`);
    assert.deepEqual((await again.events()).filter((e) => e.kind === 'error').map((e) => e.name), [], 'B took the publish (no streamIdInUse)');
    await assertPlayedOn(t, watchers, droppedAt, 'drop');
    const rec = await waitUntil(async () => {
      const r = await nodes.C.rest('GET', `/broadcasts/${moved}`);
      return r.json?.status === 'broadcasting' && r.json.originAdress === nodes.B.url ? r.json : null;
    }, { timeoutMs: 5_000, what: 'REST on C: broadcasting from B' });
    t.diagnostic(`REST on C: ${rec.status} from ${rec.originAdress}, ${rec.webRTCViewerCount} viewers`);
    // Past A's window: A let the stream go to B and did not end it.
    await sleep(Math.max(0, droppedAt + 11_000 - Date.now()));
    for (const [name, w] of Object.entries(watchers)) {
      assert.deepEqual(named(await w.events(), 'play_finished'), [], `the player on ${name} after A's window`);
    }
    await assertMediaFlowing(watchers.A, { gapMs: 1200, audio: true });
    const after = (await nodes.C.rest('GET', `/broadcasts/${moved}`)).json;
    assert.equal(after.status, 'broadcasting', JSON.stringify(after));
    for (const w of [...Object.values(watchers), again]) {
      await w.close().catch(() => {});
      participants.splice(participants.indexOf(w), 1);
    }
  });
});

test('kill -9 of the origin, its publisher back on B within the window: session_restored, the players on B and C keep playing', { timeout: 90_000 }, async (t) => {
  await guard('cluster-restore', async () => {
    nodes.E = await startNode(redis, 'E', { configToml: config });
    const moved = uniqueStreamId('moved');
    const first = await open('publish.html', nodes.E, moved, 'publisher-E');
    await first.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const watchers = {};
    for (const name of ['B', 'C']) watchers[name] = await open('play.html', nodes[name], moved, `watcher-${name}`, { firstFrame: '1' });
    for (const w of Object.values(watchers)) {
      await waitForFirstFrame(w, 20_000);
      await startFrameLog(w);
    }
    await sleep(500);
    const killedAt = Date.now();
    nodes.E.kill('SIGKILL');
    // The encoder moves on: its page goes, and a new one publishes the id on B once E's claim has lapsed
    // (a load balancer would send it there).
    await first.close();
    participants.splice(participants.indexOf(first), 1);
    await waitUntil(async () => !(await members(nodes.B)).some((n) => n.id === 'E'), { timeoutMs: 5_000, intervalMs: 100, what: 'E gone from the members' });
    delete nodes.E;
    const again = await open('publish.html', nodes.B, moved, 'publisher-B');
    const restored = await again.waitForEvent('session_restored', { kind: 'callback', timeoutMs: 8_000 });
    t.diagnostic(`kill -> session_restored on B ${Date.now() - killedAt} ms`);
    assert.equal(restored.data?.streamId, moved);
    assert.deepEqual(named(await again.events(), 'publish_started'), [], 'a restore, not a new publish');
    await assertPlayedOn(t, watchers, killedAt, 'kill');
    const rec = await waitUntil(async () => {
      const r = await nodes.C.rest('GET', `/broadcasts/${moved}`);
      // The dead origin's count went with its claim: the two players, once each.
      return r.json?.status === 'broadcasting' && r.json.originAdress === nodes.B.url && r.json.webRTCViewerCount === 2 ? r.json : null;
    }, { timeoutMs: 5_000, what: 'REST on C: broadcasting from B, two viewers' });
    t.diagnostic(`REST on C: ${rec.status} from ${rec.originAdress}, ${rec.webRTCViewerCount} viewers`);
  });
});

test('kill -9 of the origin, nobody comes back: players on B and C get play_finished and REST on B says finished, within 5 s (default settings)', { timeout: 60_000 }, async (t) => {
  await guard('cluster-kill', async () => {
    const gone = uniqueStreamId('gone');
    const pub = await open('publish.html', nodes.A, gone, 'publisher-gone');
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const watchers = {};
    for (const name of ['B', 'C']) watchers[name] = await open('play.html', nodes[name], gone, `gone-${name}`, { firstFrame: '1' });
    for (const w of Object.values(watchers)) await waitForFirstFrame(w, 20_000);
    const signalledAt = Date.now();
    nodes.A.kill('SIGKILL');
    // Timed from the process's end, not the signal: on a loaded machine the
    // kernel took 0.8 s to tear the killed node down, and no node can see it
    // gone before its sockets close.
    await nodes.A.waitExit(10_000);
    const killedAt = Date.now();
    // The record is finished by the reaper (the origin's claim lapses), whatever the players still wait for.
    const finishedInRest = waitUntil(async () => {
      const r = await nodes.B.rest('GET', `/broadcasts/${gone}`);
      // A zombi (unregistered) stream's record goes away when it ends.
      return r.status === 404 || r.json?.status === 'finished';
    }, { timeoutMs: 5_000, intervalMs: 100, what: 'finished in REST on B' }).then(() => Date.now() - killedAt);
    for (const [name, w] of Object.entries(watchers)) {
      await w.waitForEvent('play_finished', { kind: 'callback', timeoutMs: Math.max(0, 5_000 - (Date.now() - killedAt)) });
      const after = Date.now() - killedAt;
      const sinceSignal = Date.now() - signalledAt;
      t.diagnostic(`player on ${name}: play_finished after ${after} ms (${sinceSignal} ms after the signal)`);
      assert.ok(sinceSignal >= FAILOVER_MS - 500, `play_finished ${sinceSignal} ms after the kill, before the failover window ended`);
    }
    t.diagnostic(`REST on B: finished after ${await finishedInRest} ms`);
    const list = await waitUntil(async () => {
      const l = await members(nodes.B);
      return l.length === 2 ? l : null;
    }, { timeoutMs: 5_000, what: 'A gone from the members' });
    assert.deepEqual(list.map((n) => n.id), ['B', 'C']);
  });
});
