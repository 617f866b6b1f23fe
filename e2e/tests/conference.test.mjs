// Multitrack conference (PROTOCOL.md §4.5.1) with the official SDK: each participant is one adaptor that
// publishes with mainTrack = room and plays the room (the SDK sends its publish id as userPublishId).
//   - three participants: each decodes video (and gets audio) from the two others on its one room peer
//     connection, tracks named by idMapping (ARDAMSv<participant>), never its own;
//   - room queries: getBroadcastObject / getTrackList / getSubtracksCount list the participants;
//   - enableTrack(room, participant, false/true) stops and restarts that participant's video for one player;
//   - one leaves: the others get subtrackRemoved, a renegotiation that drops its tracks, and keep decoding the
//     remaining one;
//   - the last participant's publish ends: its room player gets play_finished;
//   - join time of the 4th participant of a 4-participant meeting (diagnostic, not an assertion).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitUntil } from '../lib/poll.mjs';
import {
  trackStats, inboundOf, describeTracks, waitForRemoteVideos, assertRemoteTracks, offersFor, received,
} from '../lib/room-checks.mjs';

let env;
const room = uniqueStreamId('room');
const ids = { a: uniqueStreamId('pa'), b: uniqueStreamId('pb'), c: uniqueStreamId('pc') };
const pages = {};
const others = (k) => Object.keys(ids).filter((x) => x !== k).map((x) => ids[x]);

before(async () => { env = await startTestEnv(); });
after(async () => { await env?.close(); });

function openParticipant(key, roomId = room, id = ids[key], extra = {}) {
  return env.open('conference.html', { id, room: roomId, label: `participant-${key}`, ...extra });
}

/** Data-channel TRACK_LIST_UPDATED events a page got for `roomId`. */
async function trackListUpdates(p, roomId) {
  return (await received(p)).filter((r) => !r.binary && /TRACK_LIST_UPDATED/.test(r.text ?? '')).filter((r) => {
    try { return JSON.parse(r.text).streamId === roomId; } catch { return false; }
  });
}

test('three participants: each decodes the two others, never its own tracks', { timeout: 90_000 }, async (t) => {
  await env.guard('conference-three', async () => {
    pages.a = await openParticipant('a');
    await pages.a.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.a });
    pages.b = await openParticipant('b');
    await pages.b.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.b });
    // A and B see each other before C arrives, so that C's arrival is a renegotiation for both of them.
    await waitForRemoteVideos(pages.a, [ids.b], 20_000);
    await waitForRemoteVideos(pages.b, [ids.a], 20_000);
    const offersBeforeC = { a: offersFor(pages.a, room).length, b: offersFor(pages.b, room).length };
    pages.c = await openParticipant('c');
    await pages.c.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.c });

    for (const k of ['a', 'b', 'c']) await waitForRemoteVideos(pages[k], others(k), 20_000);
    const samples = await Promise.all(['a', 'b', 'c'].map((k) => assertRemoteTracks(pages[k], { flowing: others(k), gapMs: 1500, audio: true })));
    samples.forEach((s, i) => t.diagnostic(`${'abc'[i]}: ${describeTracks(s.after)}`));

    for (const k of ['a', 'b', 'c']) {
      const p = pages[k];
      const own = [`ARDAMSv${ids[k]}`, `ARDAMSa${ids[k]}`];
      const offers = offersFor(p, room);
      assert.ok(offers.length >= 1, `${p.label}: no takeConfiguration offer for the room`);
      for (const [i, o] of offers.entries()) {
        const mapped = Object.values(o.idMapping ?? {});
        assert.ok(!mapped.some((v) => own.includes(v)), `${p.label}: offer #${i + 1} maps its own tracks: ${JSON.stringify(o.idMapping)}`);
        assert.ok(!o.sdp.includes(` ${own[0]}`) && !o.sdp.includes(` ${own[1]}`), `${p.label}: offer #${i + 1} SDP carries its own msid`);
      }
      // The last offer names exactly the two others' audio and video.
      const last = offers[offers.length - 1];
      const expected = others(k).flatMap((id) => [`ARDAMSv${id}`, `ARDAMSa${id}`]).sort();
      assert.deepEqual(Object.values(last.idMapping ?? {}).filter((v) => /^ARDAMS[av]/.test(v)).sort(), expected,
        `${p.label}: last room offer's idMapping ${JSON.stringify(last.idMapping)}`);
      // newTrackAvailable never hands over its own tracks, and does hand over both others' video.
      const tracks = (await p.events()).filter((e) => e.name === 'newTrackAvailable').map((e) => String(e.data?.trackId));
      assert.ok(!tracks.some((x) => own.includes(x)), `${p.label}: newTrackAvailable for its own track: ${tracks}`);
      for (const id of others(k)) assert.ok(tracks.includes(`ARDAMSv${id}`), `${p.label}: no newTrackAvailable for ARDAMSv${id}: ${tracks}`);
      // Each received track's msid track id matches the idMapping name of its m-line.
      const st = await trackStats(p);
      for (const id of others(k)) {
        const v = inboundOf(st, id, 'video');
        assert.equal(v.trackIdentifier, `ARDAMSv${id}`, `${p.label}: mid ${v.mid} msid track ${v.trackIdentifier} vs idMapping ARDAMSv${id}`);
      }
      const errors = (await p.events()).filter((e) => e.kind === 'error').map((e) => e.name);
      t.diagnostic(`${p.label}: ${offers.length} room offer(s); SDK errors: ${errors.join(', ') || 'none'}`);
      assert.deepEqual(p.pageErrors, [], `${p.label}: page errors`);
    }

    // C's arrival was announced to A and B: a new offer, subtrackAdded {trackId: C} and TRACK_LIST_UPDATED.
    for (const k of ['a', 'b']) {
      const p = pages[k];
      assert.ok(offersFor(p, room).length > offersBeforeC[k], `${p.label}: no renegotiation offer when C joined`);
      const ev = await p.waitForEvent('subtrackAdded', { kind: 'callback', timeoutMs: 5_000, match: (d) => d?.trackId === ids.c });
      assert.equal(ev.data.streamId, room, `${p.label}: subtrackAdded names the room`);
      await waitUntil(async () => (await trackListUpdates(p, room)).length > 0,
        { timeoutMs: 5_000, what: `${p.label}: data-channel TRACK_LIST_UPDATED for the room` });
    }
  });
});

test('room queries list the participants', { timeout: 30_000 }, async (t) => {
  await env.guard('conference-queries', async () => {
    const p = pages.a;
    assert.ok(p && pages.b && pages.c, 'previous test did not set up the room');
    await p.page.evaluate((r) => {
      window.adaptor.getBroadcastObject(r);
      window.adaptor.getTracks(r);
      window.adaptor.getSubtrackCount(r);
      window.adaptor.getSubscriberCount(r);
    }, room);
    const bo = await p.waitForEvent('broadcastObject', { kind: 'callback', timeoutMs: 5_000, match: (d) => d?.streamId === room });
    assert.equal(typeof bo.data.broadcast, 'string', `broadcast must be a JSON string: ${JSON.stringify(bo.data)}`);
    const broadcast = JSON.parse(bo.data.broadcast);
    assert.deepEqual([...(broadcast.subTrackStreamIds ?? [])].sort(), Object.values(ids).sort(),
      `room broadcastObject subTrackStreamIds ${JSON.stringify(broadcast.subTrackStreamIds)}`);
    const tl = await p.waitForEvent('trackList', { kind: 'callback', timeoutMs: 5_000, match: (d) => d?.streamId === room });
    assert.deepEqual([...tl.data.trackList].sort(), Object.values(ids).sort(), `trackList ${JSON.stringify(tl.data)}`);
    const count = await p.waitForEvent('subtrackCount', { kind: 'callback', timeoutMs: 5_000, match: (d) => d?.streamId === room });
    assert.equal(count.data.count, 3, `subtrackCount ${JSON.stringify(count.data)}`);
    const subs = await p.waitForEvent('subscriberCount', { kind: 'callback', timeoutMs: 5_000, match: (d) => d?.streamId === room })
      .catch((e) => ({ data: `none: ${e.message.split('\n')[0]}` }));
    t.diagnostic(`subscriberCount of the room: ${JSON.stringify(subs.data)}; broadcast status ${broadcast.status}`);
  });
});

test('joinRoom / getRoomInfo / leaveFromRoom signaling (raw socket, room of three live participants)', { timeout: 30_000 }, async () => {
  const raw = await env.open('raw.html', { id: 'raw', label: 'raw-joinroom' });
  await env.guard('conference-joinroom', async () => {
    assert.ok(pages.a && pages.b && pages.c, 'previous test did not set up the room');
    const r = raw.page;
    await r.evaluate(() => window.raw.open('j'));
    let seen = 0;
    const next = async (what) => {
      const m = await waitUntil(async () => (await r.evaluate(() => window.raw.messages('j')))[seen],
        { timeoutMs: 5_000, what: `reply to ${what}` })
        .catch(async (e) => { throw new Error(`${e.message}; all replies: ${JSON.stringify(await r.evaluate(() => window.raw.messages('j')))}`); });
      seen++;
      return m;
    };
    const send = (m) => r.evaluate((x) => window.raw.send('j', x), m);

    await send({ command: 'joinRoom', mainTrack: '' });
    const noRoom = await next('joinRoom without room');
    assert.equal(noRoom.command, 'error');
    assert.equal(noRoom.definition, 'no_room_specified', JSON.stringify(noRoom));

    const empty = uniqueStreamId('emptyroom');
    await send({ command: 'getRoomInfo', room: empty, streamId: 'nobody' });
    const noActive = await next('getRoomInfo of an empty room');
    assert.equal(noActive.definition, 'no_active_streams_in_room', JSON.stringify(noActive));
    assert.equal(noActive.room, empty);

    const jid = uniqueStreamId('pj');
    await send({ command: 'joinRoom', room, mainTrack: room, streamId: jid });
    const joined = await next('joinRoom');
    assert.equal(joined.definition, 'joinedTheRoom', JSON.stringify(joined));
    assert.equal(joined.streamId, jid);
    assert.equal(joined.ATTR_ROOM_NAME, room);
    assert.equal(joined.room, room);
    assert.equal(typeof joined.maxTrackCount, 'number');
    assert.deepEqual([...joined.streams].sort(), Object.values(ids).sort(), `joinedTheRoom.streams ${JSON.stringify(joined.streams)}`);
    assert.deepEqual(joined.streamList.map((s) => s.streamId).sort(), Object.values(ids).sort(), `streamList ${JSON.stringify(joined.streamList)}`);

    await send({ command: 'getRoomInfo', room, streamId: ids.a });
    const info = await next('getRoomInfo');
    assert.equal(info.command, 'roomInformation', JSON.stringify(info));
    assert.deepEqual([...info.streams].sort(), [ids.b, ids.c].sort(), `roomInformation without the asker: ${JSON.stringify(info.streams)}`);

    await send({ command: 'leaveFromRoom', room, mainTrack: room });
    const left = await next('leaveFromRoom');
    assert.equal(left.definition, 'leavedFromRoom', JSON.stringify(left));
    assert.equal(left.room, room);
    assert.equal(left.ATTR_ROOM_NAME, room);
  });
  await env.retire(raw);
});

test('enableTrack stops and restarts one participant\'s media to one player', { timeout: 40_000 }, async () => {
  await env.guard('conference-enable-track', async () => {
    const p = pages.a;
    assert.ok(p && pages.b && pages.c, 'previous test did not set up the room');
    await p.page.evaluate(([r, id]) => window.adaptor.enableTrack(r, id, false), [room, ids.b]);
    // Let frames already in flight drain, then B's video must stand still while C's goes on.
    await waitUntil(async () => {
      const s1 = await trackStats(p);
      await new Promise((r) => setTimeout(r, 700));
      const s2 = await trackStats(p);
      return inboundOf(s2, ids.b).framesDecoded === inboundOf(s1, ids.b).framesDecoded;
    }, { timeoutMs: 8_000, intervalMs: 100, what: `${p.label}: video of B stops after enableTrack(false)` });
    await assertRemoteTracks(p, { flowing: [ids.c], stalled: [ids.b], gapMs: 1500, audio: true });
    // B and C are unaffected: they still get each other and A.
    await assertRemoteTracks(pages.c, { flowing: [ids.a, ids.b], gapMs: 1200, audio: false });

    await p.page.evaluate(([r, id]) => window.adaptor.enableTrack(r, id, true), [room, ids.b]);
    const before = inboundOf(await trackStats(p), ids.b).framesDecoded;
    await waitUntil(async () => inboundOf(await trackStats(p), ids.b).framesDecoded > before + 5,
      { timeoutMs: 10_000, what: `${p.label}: video of B decodes again after enableTrack(true)` });
    await assertRemoteTracks(p, { flowing: [ids.b, ids.c], gapMs: 1200, audio: true });
  });
});

test('a participant leaves: the others drop its tracks, get subtrackRemoved and keep decoding', { timeout: 60_000 }, async (t) => {
  await env.guard('conference-leave', async () => {
    assert.ok(pages.a && pages.b && pages.c, 'previous test did not set up the room');
    const stay = ['a', 'b'];
    const before = {};
    for (const k of stay) {
      const st = await trackStats(pages[k]);
      const v = inboundOf(st, ids.c, 'video');
      assert.ok(v, `${pages[k].label}: no video of C before it leaves: ${describeTracks(st)}`);
      const tr = st.transceivers.find((x) => x.mid === v.mid);
      before[k] = { offers: offersFor(pages[k], room).length, updates: (await trackListUpdates(pages[k], room)).length, mid: v.mid, receiverTrackId: tr?.receiverTrackId };
    }
    const leaveAt = Date.now();
    await pages.c.page.evaluate(() => window.leave());
    const pf = await pages.c.waitForEvent('publish_finished', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.c });
    assert.equal(pf.data.streamId, ids.c);

    for (const k of stay) {
      const p = pages[k];
      const ev = await p.waitForEvent('subtrackRemoved', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.trackId === ids.c });
      assert.equal(ev.data.streamId, room, `${p.label}: subtrackRemoved names the room`);
      // A renegotiation offer on the room id that no longer sends C.
      const offer = await waitUntil(() => {
        const o = offersFor(p, room);
        return o.length > before[k].offers ? o[o.length - 1] : null;
      }, { timeoutMs: 10_000, what: `${p.label}: renegotiation offer after C left` });
      const mapped = Object.values(offer.idMapping ?? {});
      const cMid = before[k].mid;
      const cSection = offer.sdp.split(/\r?\nm=/).slice(1).find((s) => new RegExp(`^a=mid:${cMid}\\r?$`, 'm').test(s));
      const cStillSent = mapped.includes(`ARDAMSv${ids.c}`) && cSection && !/^\S+ 0 /.test(cSection) && /^a=(sendonly|sendrecv)\r?$/m.test(cSection);
      assert.ok(!cStillSent, `${p.label}: the offer after C left still sends C (mid ${cMid}): idMapping ${JSON.stringify(offer.idMapping)}`);
      // The receiving side drops C's video track: ended, or removed from its stream, or its transceiver inactive.
      const gone = await waitUntil(async () => {
        const st = await trackStats(p);
        const tr = st.transceivers.find((x) => x.mid === cMid);
        const evs = await p.page.evaluate(() => window.trackEvents.slice());
        const ended = evs.some((e) => e.trackId === `ARDAMSv${ids.c}` && e.ev === 'ended') || tr?.trackState === 'ended';
        const removed = evs.some((e) => e.ev === 'removetrack' && e.trackId === before[k].receiverTrackId);
        const inactive = !tr || tr.currentDirection === 'inactive' || tr.currentDirection === 'stopped' || tr.currentDirection == null;
        return (ended || removed) && inactive ? { ended, removed, direction: tr?.currentDirection ?? 'no transceiver' } : null;
      }, { timeoutMs: 10_000, what: `${p.label}: C's video track ended/removed and its transceiver inactive` });
      t.diagnostic(`${p.label}: C's track after leave: ${JSON.stringify(gone)}; offer came ${offersFor(p, room).length - before[k].offers} renegotiation(s) later`);
      await waitUntil(async () => (await trackListUpdates(p, room)).length > before[k].updates,
        { timeoutMs: 5_000, what: `${p.label}: TRACK_LIST_UPDATED after C left` });
    }
    // The two that stayed keep decoding each other; C's video no longer advances for them.
    await Promise.all(stay.map((k) => assertRemoteTracks(pages[k], { flowing: others(k).filter((x) => x !== ids.c), stalled: [ids.c], gapMs: 1500 })));
    t.diagnostic(`leave handled within ${Date.now() - leaveAt} ms (including the checks)`);
    for (const k of stay) assert.deepEqual(pages[k].pageErrors, [], `${pages[k].label}: page errors`);
    // A leave renegotiates the others' room play; it never ends it (PROTOCOL.md §4.5.1).
    for (const k of stay) assert.deepEqual(await roomPlayFinished(pages[k]), [], `${pages[k].label}: play_finished for the room`);

    // C comes back (a new page with the same id, as a reload would): the others see it again.
    await env.retire(pages.c);
    pages.c = await openParticipant('c');
    await pages.c.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.c });
    for (const k of ['a', 'b', 'c']) await waitForRemoteVideos(pages[k], others(k), 20_000);
    await Promise.all(['a', 'b', 'c'].map((k) => assertRemoteTracks(pages[k], { flowing: others(k), gapMs: 1500 })));
    await pages.c.page.evaluate(() => window.leave());
    for (const k of stay) {
      await waitUntil(async () => (await pages[k].events()).filter((e) => e.name === 'subtrackRemoved' && e.data?.trackId === ids.c).length >= 2,
        { timeoutMs: 10_000, what: `${pages[k].label}: subtrackRemoved for C's second leave` });
    }
  });
});

/** play_finished callbacks a page got for the room. */
async function roomPlayFinished(p) {
  return (await p.events()).filter((e) => e.name === 'play_finished' && e.data?.streamId === room);
}

test('two participants: one leaves and comes back, the other keeps its room play and sees it again', { timeout: 60_000 }, async () => {
  await env.guard('conference-two-leave-rejoin', async () => {
    assert.ok(pages.a && pages.b, 'previous test did not set up the room');
    await pages.b.page.evaluate(() => window.leave());
    await pages.a.waitForEvent('subtrackRemoved', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.trackId === ids.b });
    // Alone in the room, A still plays it: no play_finished, and B is seen again when it returns.
    assert.deepEqual(await roomPlayFinished(pages.a), [], 'A: play_finished for the room while it stays');
    await env.retire(pages.b);
    pages.b = await openParticipant('b');
    await pages.b.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.b });
    await waitForRemoteVideos(pages.a, [ids.b], 20_000);
    await waitForRemoteVideos(pages.b, [ids.a], 20_000);
    await Promise.all([['a', [ids.b]], ['b', [ids.a]]].map(([k, flowing]) => assertRemoteTracks(pages[k], { flowing, gapMs: 1500 })));
    assert.deepEqual(await roomPlayFinished(pages.a), [], 'A: play_finished for the room');
  });
});

test('when the last participant stops publishing, its room player gets play_finished', { timeout: 30_000 }, async () => {
  await env.guard('conference-last-leaves', async () => {
    assert.ok(pages.a && pages.b, 'previous test did not set up the room');
    await pages.b.page.evaluate(() => window.leave());
    await pages.a.waitForEvent('subtrackRemoved', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.trackId === ids.b });
    // A is now alone; it stops publishing but keeps its room player: the room ends for that player.
    await pages.a.page.evaluate(() => window.stopPublishing());
    await pages.a.waitForEvent('publish_finished', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === ids.a });
    const ev = await pages.a.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000, match: (d) => d?.streamId === room });
    assert.equal(ev.data.streamId, room);
    for (const k of ['a', 'b', 'c']) await env.retire(pages[k]);
  });
});

test('join time in a 4-participant meeting (diagnostic)', { timeout: 90_000 }, async (t) => {
  await env.guard('conference-join-time', async () => {
    const room4 = uniqueStreamId('room4');
    const members = [];
    const joinMs = [];
    for (let i = 0; i < 4; i++) {
      const id = uniqueStreamId(`j${i}`);
      const p = await openParticipant(`j${i}`, room4, id);
      members.push({ id, p });
      await p.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000, match: (d) => d?.streamId === id });
      if (i === 0) continue;
      const remote = members.slice(0, i).map((m) => m.id);
      await waitForRemoteVideos(p, remote, 30_000);
      const r = await waitUntil(() => p.page.evaluate((want) => {
        const times = want.map((id) => window.firstDecoded[`ARDAMSv${id}`]);
        return times.every((x) => x != null) ? { playCalledAt: window.playCalledAt, last: Math.max(...times) } : null;
      }, remote), { timeoutMs: 5_000, what: `${p.label}: first-decoded times` });
      joinMs.push(r.last - r.playCalledAt);
    }
    for (const m of members) await waitForRemoteVideos(m.p, members.filter((x) => x !== m).map((x) => x.id), 20_000);
    t.diagnostic(`room join time (play() of the room -> every remote video decoding): 4th participant ${joinMs[2].toFixed(0)} ms `
      + `(3 remote tracks); 2nd ${joinMs[0].toFixed(0)} ms, 3rd ${joinMs[1].toFixed(0)} ms`);
    assert.equal(joinMs.length, 3);
  });
});
