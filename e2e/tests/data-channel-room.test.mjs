// Data channels (PROTOCOL.md §4.6, §6.3, §6.4) with the official SDK:
//   - one stream: publisher text and binary (the SDK's 8-byte header + chunks, here up to 3 chunks) reach
//     each player exactly once, in order, byte for byte; players' messages reach the publisher and the other
//     player (default dataChannelPlayerDistribution = all), never the sender; an object-form player (which
//     also opens its own channel) gets each message once;
//   - dataChannelPlayerDistribution = publisher / none, with data-channel-only adaptors (§4.6);
//   - dataChannelEnabled = false: the answer rejects m=application, publishing still works;
//   - a room: participant A's publisher-channel messages reach B's and C's room players, not A.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { sleep, waitUntil } from '../lib/poll.mjs';
import { waitForRemoteVideos } from '../lib/room-checks.mjs';

const CONFIG = `# written by e2e/tests/data-channel-room.test.mjs
[apps.PubOnly]
dataChannelPlayerDistribution = "publisher"

[apps.NoneApp]
dataChannelPlayerDistribution = "none"

[apps.NoData]
dataChannelEnabled = false
`;

let env;
before(async () => { env = await startTestEnv({ configToml: CONFIG }); });
after(async () => { await env?.close(); });
// The tests share nothing but the server: each one's pages are closed after it, pass or fail.
afterEach(async () => { await env?.retireAll(); });

const received = (p) => p.page.evaluate(() => window.received.slice());
/** What a page received, minus the server's own room events (TRACK_LIST_UPDATED, …), as comparable items. */
async function appMessages(p) {
  return (await received(p))
    .filter((r) => !(r.binary === false && /"eventType"\s*:\s*"(TRACK_LIST_UPDATED|VIDEO_TRACK_ASSIGNMENT_LIST|AUDIO_TRACK_ASSIGNMENT)"/.test(r.text)))
    .map((r) => (r.binary ? { streamId: r.streamId, hex: r.hex } : { streamId: r.streamId, text: r.text }));
}
function waitMessages(p, n, what, timeoutMs = 10_000) {
  let last = [];
  return waitUntil(async () => { last = await appMessages(p); return last.length >= n ? last : null; },
    { timeoutMs, what: `${p.label}: ${n} data-channel message(s) ${what}` })
    .catch((e) => { throw new Error(`${e.message}; got ${JSON.stringify(last.map(shortMsg))}`); });
}
const shortMsg = (m) => (m.hex != null ? { streamId: m.streamId, hexBytes: m.hex.length / 2, head: m.hex.slice(0, 16) } : m);
const short = (list) => list.map(shortMsg);
async function waitChannelOpen(p) {
  await p.waitForEvent('data_channel_opened', { kind: 'callback', timeoutMs: 10_000 });
  await waitUntil(() => p.page.evaluate(() => window.dataChannelState() === 'open'),
    { timeoutMs: 5_000, what: `${p.label}: data channel readyState open` });
}
async function openStream(app, id, { media, playerForms = ['positional', 'positional'] }) {
  const pub = await env.open('datachannel.html', { app, id, role: 'publish', media: media ? '1' : '0', label: `${app}-publisher` });
  await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
  await waitChannelOpen(pub);
  const players = [];
  for (const [i, form] of playerForms.entries()) {
    const pl = await env.open('datachannel.html', { app, id, role: 'play', media: media ? '1' : '0', form, label: `${app}-player${i + 1}-${form}` });
    players.push(pl);
  }
  for (const pl of players) {
    await pl.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
    await waitChannelOpen(pl);
  }
  return { pub, players };
}

test('one stream: text and binary between the publisher and players, default distribution', { timeout: 60_000 }, async (t) => {
  await env.guard('dc-stream', async () => {
    const id = uniqueStreamId('dcs');
    const { pub, players } = await openStream('LiveApp', id, { media: true, playerForms: ['positional', 'object'] });
    const [p1, p2] = players;

    // Publisher -> players: text, 10 bytes, 40 000 bytes (three SDK chunks), text.
    const small = randomBytes(10).toString('hex');
    const large = randomBytes(40_000).toString('hex');
    const seq = [
      { text: `pub text 1 ${randomBytes(3).toString('hex')}` },
      { hex: small },
      { hex: large },
      { text: '{"second":"text","unicode":"é✓"}' },
    ];
    for (const m of seq) {
      if (m.text != null) await pub.page.evaluate((x) => window.sendText(x), m.text);
      else await pub.page.evaluate((x) => window.sendBinary(x), m.hex);
    }
    const expected = seq.map((m) => ({ streamId: id, ...m }));
    for (const pl of players) {
      const got = await waitMessages(pl, expected.length, 'from the publisher');
      assert.equal(got.length, expected.length, `${pl.label}: extra messages ${JSON.stringify(short(got))}`);
      got.forEach((g, i) => assert.deepEqual(g, expected[i],
        `${pl.label}: message #${i + 1} differs: ${JSON.stringify(shortMsg(g))} vs ${JSON.stringify(shortMsg(expected[i]))}`));
    }

    // Player 1 -> publisher and player 2 (distribution "all"), not back to player 1.
    const p1Bin = randomBytes(20_000).toString('hex');
    await p1.page.evaluate(() => window.sendText('from player1'));
    await p1.page.evaluate((x) => window.sendBinary(x), p1Bin);
    const fromP1 = [{ streamId: id, text: 'from player1' }, { streamId: id, hex: p1Bin }];
    const pubGot = await waitMessages(pub, 2, 'from player1');
    assert.deepEqual(short(pubGot), short(fromP1), 'publisher: player1 messages');
    assert.deepEqual(pubGot, fromP1, 'publisher: player1 binary bytes differ');
    const p2Got = (await waitMessages(p2, expected.length + 2, 'incl. player1\'s')).slice(expected.length);
    assert.deepEqual(p2Got, fromP1, `${p2.label}: player1 messages ${JSON.stringify(short(p2Got))}`);

    // Player 2 (object form: it also opened a channel of its own) -> publisher and player 1.
    await p2.page.evaluate(() => window.sendText('from player2'));
    const pubGot2 = await waitMessages(pub, 3, 'from player2');
    assert.deepEqual(pubGot2[2], { streamId: id, text: 'from player2' });
    const p1Got = (await waitMessages(p1, expected.length + 1, 'incl. player2\'s')).slice(expected.length);
    assert.deepEqual(p1Got, [{ streamId: id, text: 'from player2' }], `${p1.label}: player2's message`);

    await sleep(800); // anything duplicated or echoed would have arrived by now
    assert.equal((await appMessages(pub)).length, 3, `publisher: ${JSON.stringify(short(await appMessages(pub)))}`);
    assert.equal((await appMessages(p1)).length, expected.length + 1, `${p1.label} got its own or duplicate messages: ${JSON.stringify(short(await appMessages(p1)))}`);
    assert.equal((await appMessages(p2)).length, expected.length + 2, `${p2.label} got its own or duplicate messages: ${JSON.stringify(short(await appMessages(p2)))}`);
    t.diagnostic(`binary ${large.length / 2} bytes arrived intact at both players; object-form player got every message once`);
  });
});

for (const [app, dist] of [['PubOnly', 'publisher'], ['NoneApp', 'none']]) {
  test(`dataChannelPlayerDistribution = ${dist} (data-channel-only adaptors)`, { timeout: 40_000 }, async () => {
    await env.guard(`dc-distribution-${dist}`, async () => {
      const id = uniqueStreamId(`dd${dist}`);
      const { pub, players } = await openStream(app, id, { media: false });
      const [p1, p2] = players;
      // Data-channel-only publishing: the offer had m=application only.
      const offer = pub.signaling().find((f) => f.dir === 'sent' && f.msg?.command === 'takeConfiguration');
      assert.ok(offer && !/^m=(audio|video)/m.test(offer.msg.sdp) && /^m=application/m.test(offer.msg.sdp), 'data-only offer');

      await p1.page.evaluate(() => window.sendText('player1 says'));
      // The publisher's own message to everybody is the barrier: once it arrived, so would have player1's.
      await sleep(300);
      await pub.page.evaluate(() => window.sendText('publisher says'));
      await waitMessages(p1, 1, 'from the publisher');
      await waitMessages(p2, 1, 'from the publisher');
      if (dist === 'publisher') await waitMessages(pub, 1, 'from player1');
      await sleep(800);
      const pubGot = await appMessages(pub);
      const p2Got = await appMessages(p2);
      const p1Got = await appMessages(p1);
      assert.deepEqual(pubGot, dist === 'publisher' ? [{ streamId: id, text: 'player1 says' }] : [], `publisher with ${dist}`);
      assert.deepEqual(p2Got, [{ streamId: id, text: 'publisher says' }], `other player with ${dist}`);
      assert.deepEqual(p1Got, [{ streamId: id, text: 'publisher says' }], `sending player with ${dist}`);
      });
  });
}

test('dataChannelEnabled = false: m=application rejected, publishing and playing still work', { timeout: 40_000 }, async (t) => {
  await env.guard('dc-disabled', async () => {
    const id = uniqueStreamId('nodc');
    const problems = []; // gathered, so that one run shows every deviation
    const pub = await env.open('datachannel.html', { app: 'NoData', id, role: 'publish', media: '1', label: 'NoData-publisher' });
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    const answer = pub.signaling().find((f) => f.dir === 'recv' && f.msg?.command === 'takeConfiguration' && f.msg?.type === 'answer');
    assert.ok(answer, 'no answer');
    const app = answer.msg.sdp.split(/\r?\n/).find((l) => l.startsWith('m=application'));
    if (!(app == null || /^m=application 0 /.test(app))) problems.push(`publisher's answer accepts the data channel: "${app}"`);
    const pl = await env.open('datachannel.html', { app: 'NoData', id, role: 'play', media: '1', label: 'NoData-player' });
    await pl.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
    const offer = pl.signaling().find((f) => f.dir === 'recv' && f.msg?.command === 'takeConfiguration' && f.msg?.type === 'offer');
    const offerApp = offer.msg.sdp.split(/\r?\n/).find((l) => l.startsWith('m=application'));
    if (!(offerApp == null || /^m=application 0 /.test(offerApp))) problems.push(`player's offer has a data channel: "${offerApp}"`);
    await waitUntil(async () => ((await pl.stats())?.video?.framesDecoded ?? 0) > 0, { timeoutMs: 15_000, what: 'NoData player decodes video' });
    await sleep(500);
    for (const p of [pub, pl]) {
      const names = (await p.events()).map((e) => e.name);
      if (names.includes('data_channel_opened')) problems.push(`${p.label}: a data channel opened`);
    }
    t.diagnostic(`answer m-line: ${app ?? '(none)'}; player offer m-line: ${offerApp ?? '(none)'}`);
    assert.deepEqual(problems, [], `dataChannelEnabled = false not honoured:\n  ${problems.join('\n  ')}`);
  });
});

test('room: a participant\'s messages reach the other participants\' room players, not itself', { timeout: 60_000 }, async (t) => {
  await env.guard('dc-room', async () => {
    const room = uniqueStreamId('dcroom');
    const ids = [uniqueStreamId('ra'), uniqueStreamId('rb'), uniqueStreamId('rc')];
    const ps = [];
    for (const [i, id] of ids.entries()) {
      const p = await env.open('conference.html', { id, room, label: `room-${'abc'[i]}` });
      await p.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === id });
      ps.push(p);
    }
    const [a, b, c] = ps;
    for (const [i, p] of ps.entries()) await waitForRemoteVideos(p, ids.filter((_, j) => j !== i), 20_000);
    for (const p of ps) {
      await waitUntil(() => p.page.evaluate(([own, r]) => window.dataChannelState(own) === 'open' && window.dataChannelState(r) === 'open', [p === a ? ids[0] : p === b ? ids[1] : ids[2], room]),
        { timeoutMs: 10_000, what: `${p.label}: publish and room data channels open` });
    }
    const before = await Promise.all(ps.map((p) => appMessages(p)));
    assert.deepEqual(before.map((x) => x.length), [0, 0, 0], `messages before anyone sent: ${JSON.stringify(before)}`);

    const bin = randomBytes(17_000).toString('hex'); // two SDK chunks
    await a.page.evaluate((own) => window.sendText(own, 'hello room from A'), ids[0]);
    await a.page.evaluate(([own, hex]) => window.sendBinary(own, hex), [ids[0], bin]);
    const expected = [{ streamId: room, text: 'hello room from A' }, { streamId: room, hex: bin }];
    for (const p of [b, c]) {
      const got = await waitMessages(p, 2, 'from A');
      assert.deepEqual(short(got), short(expected), `${p.label}: A's messages on its room player`);
      assert.deepEqual(got, expected, `${p.label}: A's binary bytes differ`);
    }
    await sleep(800);
    assert.deepEqual(short(await appMessages(a)), [], 'A received its own messages');
    for (const p of [b, c]) assert.equal((await appMessages(p)).length, 2, `${p.label}: duplicates ${JSON.stringify(short(await appMessages(p)))}`);

    // Diagnostic only: where a room player's own message goes (the room has no single publisher).
    await b.page.evaluate((r) => window.sendText(r, 'B on its room channel'), room);
    await sleep(1000);
    const where = {};
    for (const p of ps) {
      where[p.label] = (await appMessages(p)).filter((m) => m.text === 'B on its room channel')
        .map((m) => (m.streamId === room ? 'room player channel' : `publish channel (${m.streamId === ids[ps.indexOf(p)] ? 'own id' : m.streamId})`));
    }
    t.diagnostic(`B's message on its room-player channel reached: ${JSON.stringify(where)}`);
  });
});
