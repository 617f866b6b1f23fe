// One camera+mic publisher, two players in separate browser contexts, on two media workers: both decode
// video and receive audio; when the publisher stops, both players get play_finished.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';

let env;
const id = uniqueStreamId('pp');
let publisher;
let players = [];

// Two media workers, and a stream's players past the publisher's worker's first peer go to the
// other one: player1 gets the stream relayed between workers, player2 sits beside the publisher.
before(async () => {
  env = await startTestEnv({ ternOpts: { env: { TERN_MEDIA_WORKERS: '2', TERN_SPREAD_PLAYERS_AFTER: '1' } } });
});
after(async () => { await env?.close(); });

test('publisher goes live; two players decode video and receive audio', { timeout: 60_000 }, async (t) => {
  await env.guard('publish-play-live', async () => {
    publisher = await env.publisher(id);
    const started = await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(started.data?.streamId, id, `publish_started carries streamId ${JSON.stringify(started.data)}`);

    players = [await env.player(id, 'player1'), await env.player(id, 'player2')];
    for (const p of players) {
      const ev = await p.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
      assert.equal(ev.data?.streamId, id, `${p.label}: play_started carries streamId ${JSON.stringify(ev.data)}`);
    }
    for (const p of players) await waitForFirstFrame(p, 15_000);
    const samples = await Promise.all(players.map((p) => assertMediaFlowing(p, { gapMs: 1200, audio: true })));
    samples.forEach((s, i) => t.diagnostic(`player${i + 1}: ${JSON.stringify(s.after)}`));
    const ports = await Promise.all(players.map(async (p) => (await p.stats())?.serverPort));
    t.diagnostic(`server media ports: player1 ${ports[0]} (relayed), player2 ${ports[1]} (beside the publisher)`);
    assert.ok(ports.every((x) => Number.isInteger(x)), `a selected candidate pair per player: ${ports}`);
    assert.notEqual(ports[0], ports[1], 'the two players are on different media workers');

    for (const p of [publisher, ...players]) assert.deepEqual(p.pageErrors, [], `${p.label}: page errors`);
    for (const p of players) {
      const errors = (await p.events()).filter((e) => e.kind === 'error');
      assert.deepEqual(errors.map((e) => e.name), [], `${p.label}: SDK error callbacks while playing a live stream`);
    }
  });
});

// The server seals players' media itself (crates/media/src/egress): Chromium must accept its sender reports
// (SRTCP) for both tracks, with packet counts that match what arrived and an NTP time that is now.
test('players get the server\'s sender reports for audio and video', { timeout: 30_000 }, async (t) => {
  await env.guard('publish-play-reports', async () => {
    assert.ok(players.length === 2, 'the first test did not set up players');
    for (const p of players) {
      let reports = null;
      for (let i = 0; i < 40; i++) {
        reports = await p.page.evaluate(async () => {
          const pc = window.adaptor?.remotePeerConnection[window.streamId];
          if (!pc) return null;
          const out = {};
          const stats = await pc.getStats();
          stats.forEach((s) => {
            if (s.type === 'remote-outbound-rtp') {
              const inbound = [...stats.values()].find((x) => x.type === 'inbound-rtp' && x.kind === s.kind);
              out[s.kind] = { reportsSent: s.reportsSent, packetsSent: s.packetsSent,
                remoteTimestamp: s.remoteTimestamp, received: inbound?.packetsReceived, now: Date.now() };
            }
          });
          return out;
        });
        if (reports?.audio?.reportsSent >= 2 && reports?.video?.reportsSent >= 2) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      t.diagnostic(`${p.label}: ${JSON.stringify(reports)}`);
      for (const kind of ['audio', 'video']) {
        const r = reports?.[kind];
        assert.ok(r && r.reportsSent >= 2, `${p.label}: ${kind} sender reports: ${JSON.stringify(r)}`);
        assert.ok(r.packetsSent > 0 && Math.abs(r.packetsSent - r.received) <= Math.max(60, r.received * 0.2),
          `${p.label}: ${kind} packets the reports count match those received: ${JSON.stringify(r)}`);
        assert.ok(Math.abs(r.remoteTimestamp - r.now) < 5_000, `${p.label}: ${kind} report NTP time is now: ${JSON.stringify(r)}`);
      }
    }
  });
});

test('publisher stop(): both players get play_finished', { timeout: 30_000 }, async (t) => {
  await env.guard('publish-play-stop', async () => {
    assert.ok(publisher && players.length === 2, 'previous test did not set up publisher and players');
    await publisher.page.evaluate(() => window.stopPublishing());
    for (const p of players) {
      const ev = await p.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
      assert.equal(ev.data?.streamId, id, `${p.label}: play_finished carries streamId ${JSON.stringify(ev.data)}`);
    }
    const pubNames = (await publisher.events()).map((e) => e.name);
    t.diagnostic(`publisher events after stop: ${pubNames.join(', ')}`);
  });
});
