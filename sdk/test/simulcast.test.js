// Simulcast publishing through the adaptor: which transceiver gets RID layers, what limits the
// sender keeps once connected, and that playing and P2P are left as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebRTCAdaptor } from '../src/webrtc_adaptor.js';
import { makeWorld, recordingOptions, flush } from '../test-support/fakes.js';

const DEFAULT_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];

/** An adaptor in a fresh fake browser with its socket open. */
async function setup(opts = {}) {
  const world = makeWorld();
  const log = [];
  const a = new WebRTCAdaptor(recordingOptions(log, opts), world.platform);
  await flush();
  world.socket.open();
  await flush();
  return { world, a, log };
}

/** Publish `id` up to a connected peer connection; returns it. */
async function publishConnected(world, a, id = 's1') {
  a.publish(id);
  await flush();
  world.socket.receive({ command: 'start', streamId: id });
  await flush();
  const pc = world.pc;
  world.socket.receive({ command: 'takeConfiguration', streamId: id, type: 'answer', sdp: 'v=0\r\n' });
  await flush();
  pc.setIce('connected');
  await flush();
  return pc;
}

const transceiverOf = (pc, kind) => pc.transceivers.find((t) => t.receiver.track.kind === kind);
const limits = (pc) => transceiverOf(pc, 'video').sender.params.encodings.map((e) => [e.rid, e.maxBitrate]);

test('simulcast: the video transceiver is made with three RID layers lowest first; audio stays plain', async () => {
  const { world, a, log } = await setup({ simulcast: true });
  a.publish('s1');
  await flush();
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  const pc = world.pc;
  const video = transceiverOf(pc, 'video');
  const audio = transceiverOf(pc, 'audio');
  assert.deepEqual(video.init, { direction: 'sendonly', sendEncodings: DEFAULT_LAYERS });
  assert.deepEqual(audio.init, { direction: 'sendonly', sendEncodings: undefined });
  assert.equal(video.sender.track, a.localStream.getVideoTracks()[0]);
  assert.equal(sentOffers(world).length, 1, 'the offer is sent as usual');
  assert.deepEqual(log.filter((e) => e.kind === 'error'), []);
});

test('simulcast: once connected every layer keeps its own limit; the degradation preference is set', async () => {
  const { world, a } = await setup({ simulcast: true });
  const pc = await publishConnected(world, a);
  assert.deepEqual(limits(pc), [['q', 150_000], ['h', 500_000], ['f', 1_500_000]]);
  assert.equal(transceiverOf(pc, 'video').sender.params.degradationPreference, 'maintain-resolution');
  assert.deepEqual(transceiverOf(pc, 'video').sender.params.encodings.map((e) => e.scaleResolutionDownBy), [4, 2, undefined]);
});

test('simulcast: changeBandwidth lowers the layers above the cap and "unlimited" gives each its own back', async () => {
  const { world, a } = await setup({ simulcast: true });
  const pc = await publishConnected(world, a);
  assert.equal(await a.changeBandwidth(400, 's1'), true);
  assert.deepEqual(limits(pc), [['q', 150_000], ['h', 400_000], ['f', 400_000]]);
  assert.equal(await a.changeBandwidth('unlimited', 's1'), true);
  assert.deepEqual(limits(pc), [['q', 150_000], ['h', 500_000], ['f', 1_500_000]]);
});

test('simulcast: a bandwidth option given by the app caps the layers from the start', async () => {
  const { world, a } = await setup({ simulcast: true, bandwidth: 1000 });
  const pc = await publishConnected(world, a);
  assert.deepEqual(limits(pc), [['q', 150_000], ['h', 500_000], ['f', 1_000_000]]);
});

test('simulcastLayers: the given layers are sent; a layer without maxBitrate gets the cap or none', async () => {
  const layers = [{ rid: 'lo', scaleResolutionDownBy: 2, maxBitrate: 200_000 }, { rid: 'hi' }];
  const { world, a } = await setup({ simulcast: true, simulcastLayers: layers });
  const pc = await publishConnected(world, a);
  assert.deepEqual(transceiverOf(pc, 'video').init.sendEncodings, layers);
  assert.deepEqual(limits(pc), [['lo', 200_000], ['hi', undefined]]);
  await a.changeBandwidth(800, 's1');
  assert.deepEqual(limits(pc), [['lo', 200_000], ['hi', 800_000]]);
});

test('simulcast: a publish retried after an ICE failure is layered again', async () => {
  const { world, a } = await setup({ simulcast: true });
  const first = await publishConnected(world, a);
  first.setIce('failed');
  await world.clock.advance(20_000);
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  assert.notEqual(world.pc, first, 'a new connection for the retry');
  assert.deepEqual(transceiverOf(world.pc, 'video').init.sendEncodings, DEFAULT_LAYERS);
});

test('without simulcast nothing is layered and the default 1200 kbps cap applies', async () => {
  const { world, a } = await setup();
  const pc = await publishConnected(world, a);
  assert.deepEqual(transceiverOf(pc, 'video').init, { direction: 'sendonly', sendEncodings: undefined });
  assert.deepEqual(limits(pc), [[undefined, 1_200_000]]);
});

test('simulcast leaves playing and P2P alone', async () => {
  const player = await setup({ simulcast: true, isPlayMode: true });
  player.a.play('s1');
  await flush();
  player.world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'offer', sdp: 'v=0\r\nm=audio 9 x\r\nm=video 9 x\r\n', idMapping: {} });
  await flush();
  assert.deepEqual(player.world.pc.transceivers.map((t) => [t.direction, t.init.sendEncodings]), [['recvonly', undefined], ['recvonly', undefined]]);

  const p2p = await setup({ simulcast: true });
  p2p.a.join('call');
  await flush();
  p2p.world.socket.receive({ command: 'start', streamId: 'call' });
  await flush();
  const pc = p2p.world.pc;
  assert.deepEqual(pc.transceivers.map((t) => [t.direction, t.init.sendEncodings]), [['sendrecv', undefined], ['sendrecv', undefined]]);
  pc.setIce('connected');
  await flush();
  assert.deepEqual(limits(pc), [[undefined, 1_200_000]], 'a P2P sender gets the default cap, as without simulcast');
});

/** @param {any} world */
function sentOffers(world) {
  return world.socket.commands().filter((m) => m.command === 'takeConfiguration' && m.type === 'offer');
}
