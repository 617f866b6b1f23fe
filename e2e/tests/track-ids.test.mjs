// A player page without remoteVideoId depends on the server's offer: idMapping (mid -> ARDAMSv<id>/ARDAMSa<id>)
// and msid track ids, so that the SDK's newTrackAvailable names each track (PROTOCOL.md §9 items 4-5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';

let env;
const id = uniqueStreamId('ids');

before(async () => { env = await startTestEnv(); });
after(async () => { await env?.close(); });

test('server offer carries idMapping and ARDAMS msid track ids; newTrackAvailable names both tracks', { timeout: 60_000 }, async (t) => {
  await env.guard('track-ids', async () => {
    const publisher = await env.publisher(id);
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    const player = await env.player(id, 'player-tracks', { video: 'tracks' });
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });

    const offer = player.signaling().find((f) => f.dir === 'recv' && f.msg?.command === 'takeConfiguration' && f.msg?.type === 'offer');
    assert.ok(offer, 'no takeConfiguration offer received');
    const { idMapping, sdp } = offer.msg;
    assert.equal(typeof idMapping, 'object', `idMapping missing: ${JSON.stringify(idMapping)}`);
    const mapped = Object.values(idMapping ?? {});
    t.diagnostic(`idMapping ${JSON.stringify(idMapping)}`);
    assert.ok(mapped.some((v) => /^ARDAMSv/.test(v)), `no ARDAMSv entry in idMapping ${JSON.stringify(idMapping)}`);
    assert.ok(mapped.some((v) => /^ARDAMSa/.test(v)), `no ARDAMSa entry in idMapping ${JSON.stringify(idMapping)}`);

    // Every mapped mid must be an m-line of the offer whose msid track id is that value.
    const sections = sdp.split(/\r?\nm=/).slice(1).map((s) => 'm=' + s);
    for (const [mid, trackId] of Object.entries(idMapping)) {
      const sec = sections.find((s) => new RegExp(`^a=mid:${mid}\\r?$`, 'm').test(s));
      assert.ok(sec, `idMapping mid ${mid} has no m-line in the offer`);
      const msid = /^a=msid:(\S+) (\S+)\r?$/m.exec(sec);
      assert.ok(msid, `m-line of mid ${mid} has no a=msid`);
      assert.equal(msid[2], trackId, `mid ${mid}: msid track id ${msid[2]} != idMapping ${trackId}`);
    }
    const streamLabels = new Set(sections.map((s) => /^a=msid:(\S+) /m.exec(s)?.[1]).filter(Boolean));
    assert.equal(streamLabels.size, 1, `audio and video must share one msid stream, saw ${[...streamLabels]}`);

    const tracks = (await player.events()).filter((e) => e.name === 'newTrackAvailable').map((e) => e.data);
    const video = tracks.find((d) => d.track?.kind === 'video');
    const audio = tracks.find((d) => d.track?.kind === 'audio');
    assert.ok(video && audio, `newTrackAvailable for audio and video expected, got ${JSON.stringify(tracks)}`);
    assert.match(String(video.trackId), /^ARDAMSv/);
    assert.match(String(audio.trackId), /^ARDAMSa/);
    assert.equal(video.streamId, id);
    assert.deepEqual(player.pageErrors, [], 'page errors (the SDK throws in onTrack without idMapping)');

    await waitForFirstFrame(player, 15_000);
    await assertMediaFlowing(player, { gapMs: 1200, audio: true });
  });
});
