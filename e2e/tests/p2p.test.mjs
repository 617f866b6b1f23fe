// Peer-to-peer calls (PROTOCOL.md §2.8, §2.9, §2.18, §4.4): the server pairs two peers on one id and relays
// offer/answer/candidates/peerMessageCommand; media and the data channel go browser to browser.
//   - two SDK peers: the first gets "start", the offer/answer are relayed (with idMapping), each decodes the
//     other's video and receives its audio, peerMessage and data-channel text reach the other side;
//   - leave: the leaver gets "leaved", the other gets "stop" and its SDK drops the peer connection; relaying
//     while alone then gives no_peer_associated_before;
//   - raw sockets: a third joiner gets streamIdInUse, a lone peer's relays get no_peer_associated_before, and a
//     peer whose socket closes counts as having left (the other gets "stop").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitUntil } from '../lib/poll.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';

let env;
const callId = uniqueStreamId('call');
let peerA;
let peerB;

before(async () => { env = await startTestEnv(); });
after(async () => { await env?.close(); });

const recvCommands = (p, command) => p.signaling().filter((f) => f.dir === 'recv' && f.msg?.command === command).map((f) => f.msg);

test('two peers: each decodes the other, peerMessage and data-channel text reach the other side', { timeout: 60_000 }, async (t) => {
  await env.guard('p2p-call', async () => {
    peerA = await env.open('p2p.html', { id: callId, label: 'peer-a' });
    const ja = await peerA.waitForEvent('joined', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(ja.data.streamId, callId, `joined names the id: ${JSON.stringify(ja.data)}`);
    peerB = await env.open('p2p.html', { id: callId, label: 'peer-b' });
    const jb = await peerB.waitForEvent('joined', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(jb.data.streamId, callId);

    // The first "both" peer is told to offer; the offer/answer are relayed with an idMapping object.
    await waitUntil(() => recvCommands(peerA, 'start').length > 0, { timeoutMs: 5_000, what: 'peer-a: start' });
    assert.equal(recvCommands(peerB, 'start').length, 0, 'peer-b (second to join) must not get start too');
    const offer = await waitUntil(() => recvCommands(peerB, 'takeConfiguration').find((m) => m.type === 'offer'),
      { timeoutMs: 10_000, what: 'peer-b: relayed offer' });
    assert.equal(offer.streamId, callId);
    assert.equal(typeof offer.idMapping, 'object', `relayed offer without idMapping: ${Object.keys(offer)}`);
    const sentOffer = peerA.signaling().find((f) => f.dir === 'sent' && f.msg?.command === 'takeConfiguration' && f.msg?.type === 'offer');
    assert.equal(offer.sdp, sentOffer?.msg?.sdp, 'relayed offer SDP differs from what peer-a sent');
    const answer = await waitUntil(() => recvCommands(peerA, 'takeConfiguration').find((m) => m.type === 'answer'),
      { timeoutMs: 10_000, what: 'peer-a: relayed answer' });
    assert.equal(typeof answer.idMapping, 'object', 'relayed answer without idMapping');
    await waitUntil(() => recvCommands(peerA, 'takeCandidate').length > 0 && recvCommands(peerB, 'takeCandidate').length > 0,
      { timeoutMs: 5_000, what: 'candidates relayed both ways' });
    const sentByA = peerA.signaling().filter((f) => f.dir === 'sent' && f.msg?.command === 'takeCandidate').map((f) => f.msg.candidate);
    assert.ok(recvCommands(peerB, 'takeCandidate').every((m) => sentByA.includes(m.candidate)), 'peer-b got candidates peer-a never sent');

    for (const p of [peerA, peerB]) await waitForFirstFrame(p, 15_000);
    const samples = await Promise.all([peerA, peerB].map((p) => assertMediaFlowing(p, { gapMs: 1200, audio: true })));
    samples.forEach((s, i) => t.diagnostic(`${['peer-a', 'peer-b'][i]}: ${JSON.stringify(s.after.video)}`));

    // peerMessageCommand relayed unchanged, both ways.
    const payloadAB = { text: 'hello b', n: 1, nested: { ok: true } };
    await peerA.page.evaluate((d) => window.peerMessage('greeting', d), payloadAB);
    const gotB = await peerB.waitForEvent('peerMessageCommand', { kind: 'callback', timeoutMs: 5_000 });
    assert.deepEqual({ streamId: gotB.data.streamId, definition: gotB.data.definition, data: gotB.data.data },
      { streamId: callId, definition: 'greeting', data: payloadAB });
    await peerB.page.evaluate(() => window.peerMessage('reply', 'plain string'));
    const gotA = await peerA.waitForEvent('peerMessageCommand', { kind: 'callback', timeoutMs: 5_000 });
    assert.equal(gotA.data.definition, 'reply');
    assert.equal(gotA.data.data, 'plain string');
    assert.equal((await peerA.events()).filter((e) => e.name === 'peerMessageCommand').length, 1, 'peer-a got its own message back');

    // The browser-to-browser data channel (offerer's channel labelled with the id).
    await waitUntil(async () => (await peerA.page.evaluate(() => window.dataChannelState())) === 'open'
      && (await peerB.page.evaluate(() => window.dataChannelState())) === 'open',
    { timeoutMs: 10_000, what: 'data channel open on both peers' });
    await peerA.page.evaluate(() => window.sendText('dc a->b'));
    await peerB.page.evaluate(() => window.sendText('dc b->a'));
    for (const [p, text] of [[peerB, 'dc a->b'], [peerA, 'dc b->a']]) {
      await waitUntil(() => p.page.evaluate((x) => window.received.some((r) => r.text === x), text),
        { timeoutMs: 5_000, what: `${p.label}: data_received "${text}"` });
    }
    for (const p of [peerA, peerB]) assert.deepEqual(p.pageErrors, [], `${p.label}: page errors`);
  });
});

test('leave: leaver gets leaved, the other gets stop and drops the call; then it is alone', { timeout: 30_000 }, async () => {
  await env.guard('p2p-leave', async () => {
    assert.ok(peerA && peerB, 'previous test did not set up the call');
    await peerB.page.evaluate(() => window.leave());
    const leaved = await peerB.waitForEvent('leaved', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(leaved.data.streamId, callId);
    const stop = await waitUntil(() => recvCommands(peerA, 'stop').find((m) => m.streamId === callId),
      { timeoutMs: 10_000, what: 'peer-a: stop from the server' });
    assert.equal(stop.streamId, callId);
    await waitUntil(async () => !(await peerA.page.evaluate(() => window.hasPeerConnection())),
      { timeoutMs: 5_000, what: 'peer-a: SDK closed its peer connection on stop' });
    assert.equal(recvCommands(peerB, 'stop').length, 0, 'the leaver itself got stop');
    // peer-a is still joined but alone now: a relay has nobody to go to.
    await peerA.page.evaluate(() => window.peerMessage('anyone', 'there?'));
    const err = await peerA.waitForEvent('no_peer_associated_before', { kind: 'error', timeoutMs: 5_000 });
    assert.equal(err.data.streamId, callId, `error names the id: ${JSON.stringify(err.data)}`);
  });
});

test('raw sockets: third joiner, lone relays, socket close of a peer', { timeout: 30_000 }, async () => {
  const raw = await env.open('raw.html', { id: 'raw', label: 'raw' });
  await env.guard('p2p-raw', async () => {
    const id2 = uniqueStreamId('trio');
    const id3 = uniqueStreamId('lone');
    const r = raw.page;
    for (const s of ['p1', 'p2', 'p3', 'lone']) await r.evaluate((n) => window.raw.open(n), s);
    const msgs = (s) => r.evaluate((n) => window.raw.messages(n), s);
    const waitMsg = (s, pred, what) => waitUntil(async () => (await msgs(s)).find(pred), { timeoutMs: 5_000, what: `${s}: ${what}` })
      .catch(async (e) => { throw new Error(`${e.message}; got ${JSON.stringify(await msgs(s))}`); });

    await r.evaluate((id) => window.raw.send('p1', { command: 'join', streamId: id, multiPeer: false, mode: 'both' }), id2);
    await waitMsg('p1', (m) => m.definition === 'joined', 'joined');
    await r.evaluate((id) => window.raw.send('p2', { command: 'join', streamId: id, multiPeer: false, mode: 'both' }), id2);
    await waitMsg('p2', (m) => m.definition === 'joined', 'joined');
    await waitMsg('p1', (m) => m.command === 'start' && m.streamId === id2, 'start');
    await r.evaluate((id) => window.raw.send('p3', { command: 'join', streamId: id, multiPeer: false, mode: 'both' }), id2);
    const inUse = await waitMsg('p3', (m) => m.command === 'error', 'error for a third joiner');
    assert.equal(inUse.definition, 'streamIdInUse', `third joiner: ${JSON.stringify(inUse)}`);

    // Relays from a lone peer.
    await r.evaluate((id) => window.raw.send('lone', { command: 'join', streamId: id, multiPeer: false, mode: 'both' }), id3);
    await waitMsg('lone', (m) => m.definition === 'joined', 'joined');
    const relays = [
      { command: 'peerMessageCommand', streamId: id3, definition: 'hi', data: 'x' },
      { command: 'takeCandidate', streamId: id3, label: 0, id: '0', candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host' },
      { command: 'takeConfiguration', streamId: id3, type: 'offer', sdp: 'v=0\r\n' },
    ];
    for (const [i, m] of relays.entries()) {
      await r.evaluate((x) => window.raw.send('lone', x), m);
      const errs = await waitUntil(async () => {
        const e = (await msgs('lone')).filter((x) => x.command === 'error');
        return e.length > i ? e : null;
      }, { timeoutMs: 5_000, what: `lone: error for a relayed ${m.command}` })
        .catch(async (e) => { throw new Error(`${e.message}; got ${JSON.stringify(await msgs('lone'))}`); });
      assert.equal(errs[i].definition, 'no_peer_associated_before', `lone ${m.command}: ${JSON.stringify(errs[i])}`);
      assert.equal(errs[i].streamId, id3);
    }

    // p2 drops its socket: p1 is told to stop, as after a leave.
    await r.evaluate(() => window.raw.close('p2'));
    await waitMsg('p1', (m) => m.command === 'stop' && m.streamId === id2, 'stop after the other peer\'s socket closed');
  });
});
