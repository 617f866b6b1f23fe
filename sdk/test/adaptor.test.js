// The adaptor against fake browser APIs: what goes on the wire, what the app is told, and how
// streams come back after failures. Scenarios read top to bottom like a page's life.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebRTCAdaptor } from '../src/webrtc_adaptor.js';
import { makeWorld, recordingOptions, flush } from '../test-support/fakes.js';

/**
 * An adaptor in a fresh fake browser, its socket opened.
 * @param {object} [opts] adaptor options
 * @param {object} [worldOpts]
 */
async function setup(opts = {}, worldOpts = {}) {
  const world = makeWorld(worldOpts);
  const log = [];
  const events = [];
  const a = new WebRTCAdaptor(recordingOptions(log, opts), world.platform);
  a.addEventListener('error', (e) => events.push({ type: 'error', ...e }));
  a.addEventListener('info', (e) => events.push({ type: 'info', ...e }));
  await flush();
  if (world.socket) {
    world.socket.open();
    await flush();
  }
  return { world, a, log, events };
}

const names = (log, kind) => log.filter((e) => kind == null || e.kind === kind).map((e) => e.name);
const sentOf = (world, command) => world.sockets.flatMap((s) => s.commands()).filter((m) => m.command === command);

/** Drive a publish to publish_started. */
async function publishLive(world, a, id = 's1') {
  a.publish(id);
  await flush();
  world.socket.receive({ command: 'start', streamId: id });
  await flush();
  const pc = world.pc;
  world.socket.receive({ command: 'takeConfiguration', streamId: id, type: 'answer', sdp: 'v=0\r\na=fake-server-answer\r\n' });
  await flush();
  pc.setIce('checking');
  pc.setIce('connected');
  world.socket.receive({ command: 'notification', definition: 'publish_started', streamId: id });
  await flush();
  return pc;
}

/** Drive a play to play_started. */
async function playLive(world, a, id = 's1', idMapping = { 0: `ARDAMSa${id}`, 1: `ARDAMSv${id}` }) {
  a.play(id);
  await flush();
  world.socket.receive({ command: 'takeConfiguration', streamId: id, type: 'offer', sdp: 'v=0\r\nm=audio 9 x\r\nm=video 9 x\r\n', idMapping });
  await flush();
  const pc = world.pc;
  pc.setIce('checking');
  pc.setIce('connected');
  world.socket.receive({ command: 'notification', definition: 'play_started', streamId: id });
  await flush();
  return pc;
}

// ------------------------------------------------------------------ connection

test('on open: getIceServerConfig, then initialized once the camera is ready', async () => {
  const { world, log } = await setup();
  assert.match(world.socket.url, /\?target=origin$/);
  assert.deepEqual(world.socket.commands(), [{ command: 'getIceServerConfig' }]);
  assert.ok(names(log, 'info').includes('initialized'));
  assert.deepEqual(world.devices.calls, [{ video: true, audio: true }], 'one getUserMedia for camera and microphone');
  assert.equal(world.document.getElementById('localVideo').srcObject, null, 'no localVideoId given');
});

test('a player does not open the camera and asks for target=edge; app ICE servers skip getIceServerConfig', async () => {
  const { world, log } = await setup({ isPlayMode: true, peerconnection_config: { iceServers: [] } });
  assert.match(world.socket.url, /\?target=edge$/);
  assert.deepEqual(world.devices.calls, []);
  assert.deepEqual(world.socket.commands(), []);
  assert.ok(names(log, 'info').includes('initialized'));
});

test('iceServerConfig from the server is used for connections created afterwards', async () => {
  const { world, a } = await setup({ isPlayMode: true });
  world.socket.receive({ command: 'iceServerConfig', stunServerUri: 'stun:stun.tern.example:3478', turnServerUsername: '', turnServerCredential: '' });
  await playLive(world, a);
  assert.deepEqual(world.pc.config.iceServers, [{ urls: 'stun:stun.tern.example:3478' }]);
  world.socket.receive({ command: 'iceServerConfig', stunServerUri: 'turn:turn.example:3478', turnServerUsername: 'u', turnServerCredential: 'p' });
  await playLive(world, a, 's2');
  assert.deepEqual(world.pc.config.iceServers, [{ urls: 'turn:turn.example:3478', username: 'u', credential: 'p' }]);
});

test('a server list in iceServerConfig (Tern\'s TURN over UDP, TCP and TLS) wins over the one URI', async () => {
  const { world, a } = await setup({ isPlayMode: true });
  world.socket.receive({
    command: 'iceServerConfig', stunServerUri: 'turn:t.example:3478', turnServerUsername: 'u', turnServerCredential: 'p',
    iceServers: [
      { urls: 'stun:s.example:19302' },
      { urls: 'turn:t.example:3478?transport=udp', username: 'u', credential: 'p' },
      { urls: 'turns:t.example:5349?transport=tcp', username: 'u', credential: 'p' },
      { urls: 'http://not-an-ice-server' },
      null,
    ],
  });
  await playLive(world, a);
  assert.deepEqual(world.pc.config.iceServers, [
    { urls: 'stun:s.example:19302' },
    { urls: 'turn:t.example:3478?transport=udp', username: 'u', credential: 'p' },
    { urls: 'turns:t.example:5349?transport=tcp', username: 'u', credential: 'p' },
  ]);
});

test('pong, streamInformation, roomInformation, trackList and peerMessageCommand reach the callback', async () => {
  const { world, log } = await setup({ isPlayMode: true });
  const msgs = [
    { command: 'streamInformation', streamId: 's1', streamInfo: [{ streamWidth: 640 }] },
    { command: 'roomInformation', room: 'r', streams: ['a'] },
    { command: 'trackList', streamId: 'm', trackList: ['a', 'b'] },
    { command: 'peerMessageCommand', streamId: 'p', definition: 'hi', data: 1 },
    { command: 'pong' },
    { command: 'somethingNew' },
  ];
  for (const m of msgs) world.socket.receive(m);
  const got = log.filter((e) => e.kind === 'info' && e.name !== 'initialized' && e.name !== 'browser_screen_share_supported');
  assert.deepEqual(got.map((e) => e.name), ['streamInformation', 'roomInformation', 'trackList', 'peerMessageCommand', 'pong']);
  assert.deepEqual(got[0].data, msgs[0]);
  assert.equal(got[4].data, undefined, 'pong has no payload, as in the official SDK');
});

// ------------------------------------------------------------------ publish

test('publish: command fields, send-only offer with a data channel, answer, candidates, bitrate cap', async () => {
  const { world, a, log } = await setup();
  a.publish('s1', undefined, null, undefined, 'My cam', 'room1', '{"m":1}', 'host');
  await flush();
  const [cmd] = sentOf(world, 'publish');
  assert.deepEqual(cmd, {
    command: 'publish', streamId: 's1', subscriberId: '', subscriberCode: '', streamName: 'My cam', mainTrack: 'room1',
    metaData: '{"m":1}', role: 'host', video: true, audio: true,
  }, 'token is left out when not given; missing strings are ""');
  assert.equal(world.pcs.length, 0, 'the connection is made on "start"');

  // A server candidate that comes before the answer waits for it.
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  const pc = world.pc;
  assert.deepEqual(pc.transceivers.map((t) => [t.receiver.track.kind, t.direction]), [['audio', 'sendonly'], ['video', 'sendonly']]);
  assert.deepEqual(pc.channels.map((c) => [c.label, c.ordered]), [['s1', true]]);
  const [offer] = sentOf(world, 'takeConfiguration');
  assert.equal(offer.type, 'offer');
  assert.equal(offer.streamId, 's1');
  assert.match(offer.sdp, /a=sendonly/);
  assert.doesNotMatch(offer.sdp, /a=sendrecv/);

  world.socket.receive({ command: 'takeCandidate', streamId: 's1', label: 1, id: 'x', candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' });
  assert.deepEqual(pc.candidates, []);
  world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'answer', sdp: 'v=0\r\n' });
  await flush();
  assert.deepEqual(pc.remoteDescription, { type: 'answer', sdp: 'v=0\r\n' });
  assert.deepEqual(pc.candidates, [{ candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMLineIndex: 1 }]);
  world.socket.receive({ command: 'takeCandidate', streamId: 's1', label: null, id: '0', candidate: 'candidate:2 1 udp 1 127.0.0.1 5001 typ host' });
  world.socket.receive({ command: 'takeCandidate', streamId: 's1', label: 0, id: '0', candidate: '' });
  assert.deepEqual(pc.candidates[1], { candidate: 'candidate:2 1 udp 1 127.0.0.1 5001 typ host', sdpMid: '0' });
  assert.equal(pc.candidates.length, 2, 'empty end-of-candidates is not added');

  pc.emitCandidate('candidate:9 1 udp 2 10.0.0.1 6000 typ host', 0, '0');
  pc.emitCandidate(null);
  assert.deepEqual(sentOf(world, 'takeCandidate'), [{ command: 'takeCandidate', streamId: 's1', label: 0, id: '0', candidate: 'candidate:9 1 udp 2 10.0.0.1 6000 typ host' }]);

  pc.setIce('connected');
  await flush();
  const video = pc.transceivers.find((t) => t.receiver.track.kind === 'video');
  assert.equal(video.sender.params.encodings[0].maxBitrate, 1_200_000);
  world.socket.receive({ command: 'notification', definition: 'publish_started', streamId: 's1' });
  const started = log.find((e) => e.name === 'publish_started');
  assert.deepEqual(started.data, { command: 'notification', definition: 'publish_started', streamId: 's1' });
  assert.deepEqual(log.find((e) => e.name === 'ice_connection_state_changed').data, { state: 'connected', streamId: 's1' });
  assert.deepEqual(names(log, 'error'), []);
});

test('publishing a data channel only sends video:false, audio:false and opens no camera', async () => {
  const { world, a } = await setup({ onlyDataChannel: true });
  a.publish('dc1');
  await flush();
  assert.deepEqual(world.devices.calls, []);
  const [cmd] = sentOf(world, 'publish');
  assert.equal(cmd.video, false);
  assert.equal(cmd.audio, false);
  world.socket.receive({ command: 'start', streamId: 'dc1' });
  await flush();
  assert.equal(world.pc.transceivers.length, 0);
  assert.equal(world.pc.channels.length, 1);
});

test('data channel: opened/closed callbacks, text and binary both ways', async () => {
  const { world, a, log } = await setup();
  const pc = await publishLive(world, a);
  const ch = pc.channels[0];
  assert.equal(a.sendData('s1', 'too early'), false);
  ch.open();
  assert.deepEqual(log.filter((e) => e.name === 'data_channel_opened').map((e) => e.data), ['s1']);
  assert.equal(a.sendData('s1', 'hello'), true);
  const bin = new Uint8Array(20_000).map((_, i) => i & 0xff);
  assert.equal(a.sendData('s1', bin), true);
  assert.equal(ch.sent[0], 'hello');
  assert.equal(ch.sent.length, 1 + 3, 'text + header + two chunks');
  // What was sent arrives whole on the other side.
  for (const frame of ch.sent) ch.receive(frame);
  const got = log.filter((e) => e.name === 'data_received').map((e) => e.data);
  assert.deepEqual(got[0], { streamId: 's1', data: 'hello' });
  assert.deepEqual(new Uint8Array(got[1].data), bin);
  assert.equal(got.length, 2);
  assert.equal(a.sendData('nope', 'x'), false);
});

test('stop(): closes the connection and tells the server; the publish_finished reply is forwarded', async () => {
  const { world, a, log } = await setup();
  const pc = await publishLive(world, a);
  pc.channels[0].open();
  let closedWhenStopSent = null;
  const send = world.socket.send.bind(world.socket);
  world.socket.send = (text) => { if (text.includes('"stop"')) closedWhenStopSent = pc.closed; send(text); };
  a.stop('s1');
  assert.equal(closedWhenStopSent, false, 'stop goes out before the connection closes');
  assert.deepEqual(log.filter((e) => e.name === 'data_channel_closed').map((e) => e.data), ['s1']);
  assert.equal(pc.closed, true);
  assert.deepEqual(sentOf(world, 'stop'), [{ command: 'stop', streamId: 's1' }]);
  world.socket.receive({ command: 'notification', definition: 'publish_finished', streamId: 's1' });
  assert.ok(names(log, 'info').includes('publish_finished'));
  await world.clock.advance(60_000);
  assert.equal(sentOf(world, 'publish').length, 1, 'a stopped stream is not retried');
});

// ------------------------------------------------------------------ play

test('play: command fields, the offer is answered, tracks are named from idMapping', async () => {
  const { world, a, log } = await setup({ isPlayMode: true });
  a.play('s1', 'tok', undefined, undefined, 'sub1');
  await flush();
  assert.deepEqual(sentOf(world, 'play'), [{
    command: 'play', streamId: 's1', token: 'tok', room: '', trackList: [], subscriberId: 'sub1', subscriberCode: '', viewerInfo: '', role: '', userPublishId: '',
  }]);
  assert.equal(world.pcs.length, 0, 'the connection is made on the server offer');
  world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'offer', sdp: 'v=0\r\nm=audio 9 x\r\nm=video 9 x\r\n', idMapping: { 0: 'ARDAMSas1', 1: 'ARDAMSvs1' } });
  await flush();
  const pc = world.pc;
  assert.equal(pc.channels.length, 0, 'a player waits for the server-created channel');
  const [answer] = sentOf(world, 'takeConfiguration');
  assert.equal(answer.type, 'answer');
  assert.match(answer.sdp, /useinbandfec=1; stereo=1/);
  pc.emitTrack('audio', '0');
  pc.emitTrack('video', '1');
  const tracks = log.filter((e) => e.name === 'newTrackAvailable').map((e) => [e.data.track.kind, e.data.trackId, e.data.streamId]);
  assert.deepEqual(tracks, [['audio', 'ARDAMSas1', 's1'], ['video', 'ARDAMSvs1', 's1']]);
  assert.equal(log.filter((e) => e.name === 'newStreamAvailable').length, 2, 'the deprecated duplicate is kept');
  const ch = pc.emitDataChannel('s1');
  ch.open();
  ch.receive('from the publisher');
  assert.deepEqual(log.find((e) => e.name === 'data_received').data, { streamId: 's1', data: 'from the publisher' });
});

test('play without idMapping does not crash: the track id is used', async () => {
  const { world, a, log } = await setup({ isPlayMode: true });
  a.play('s1');
  await flush();
  world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'offer', sdp: 'v=0\r\nm=video 9 x\r\n' });
  await flush();
  const { track } = world.pc.emitTrack('video', '0', false);
  const ev = log.find((e) => e.name === 'newTrackAvailable');
  assert.equal(ev.data.trackId, track.id);
  assert.ok(ev.data.stream, 'a stream is built when the track came without one');
});

test('with remoteVideoId the stream goes to that element instead of newTrackAvailable', async () => {
  const { world, a, log } = await setup({ isPlayMode: true, remoteVideoId: 'remoteVideo' });
  await playLive(world, a);
  const { stream } = world.pc.emitTrack('video', '1');
  assert.equal(world.document.getElementById('remoteVideo').srcObject, stream);
  assert.equal(log.filter((e) => e.name === 'newTrackAvailable').length, 0);
});

test('object-form play sends subscriberName and disableTracksByDefault; userPublishId is the publish id', async () => {
  const { world, a } = await setup();
  a.publish('me');
  await flush();
  a.play({ streamId: 'room1', roomId: 'room1', enableTracks: ['a', '!me'], subscriberName: 'Ann', disableTracksByDefault: true });
  await flush();
  const [cmd] = sentOf(world, 'play');
  assert.equal(cmd.subscriberName, 'Ann');
  assert.equal(cmd.disableTracksByDefault, true);
  assert.equal(cmd.userPublishId, 'me');
  assert.equal(cmd.room, 'room1');
  assert.deepEqual(cmd.trackList, ['a', '!me']);
});

test('a renegotiation offer on a playing connection is answered on the same connection', async () => {
  const { world, a } = await setup({ isPlayMode: true });
  const pc = await playLive(world, a, 'room1', { 0: 'ARDAMSaa' });
  world.socket.receive({ command: 'takeConfiguration', streamId: 'room1', type: 'offer', sdp: 'v=0\r\nm=audio 9 x\r\nm=video 9 x\r\n', idMapping: { 0: 'ARDAMSaa', 1: 'ARDAMSvb' } });
  await flush();
  assert.equal(world.pcs.length, 1);
  assert.equal(sentOf(world, 'takeConfiguration').length, 2);
  assert.deepEqual(pc.remoteDescription.type, 'offer');
});

// ------------------------------------------------------------------ server errors

test('server errors reach callbackError with the server object, and the error event with a sentence', async () => {
  const { world, a, log, events } = await setup();
  a.publish('');
  await flush();
  assert.deepEqual(sentOf(world, 'publish')[0].streamId, '');
  const msg = { command: 'error', definition: 'noStreamNameSpecified' };
  world.socket.receive(msg);
  const classic = log.find((e) => e.kind === 'error');
  assert.equal(classic.name, 'noStreamNameSpecified');
  assert.deepEqual(classic.data, msg);
  const ev = events.find((e) => e.type === 'error');
  assert.equal(ev.definition, 'noStreamNameSpecified');
  assert.match(ev.message, /stream id/);
  assert.deepEqual(ev.data, msg);
  // The failed attempt is forgotten: the app can publish again (and is not retried behind its back).
  await world.clock.advance(30_000);
  assert.equal(sentOf(world, 'publish').length, 1);
  a.publish('good');
  await flush();
  assert.equal(sentOf(world, 'publish').length, 2);
});

test('every ERRORS.md server row is passed through unchanged, with its streamId', async () => {
  for (const def of ['noStreamNameSpecified', 'not_allowed_unregistered_streams', 'no_room_specified', 'unauthorized_access',
    'no_encoder_settings', 'no_peer_associated_before', 'notSetLocalDescription']) {
    const { world, log, events } = await setup({ isPlayMode: true });
    const msg = { command: 'error', definition: def, streamId: 'x1', extra: { n: 1 } };
    world.socket.receive(msg);
    assert.deepEqual(log.filter((e) => e.kind === 'error').map((e) => [e.name, e.data]), [[def, msg]], def);
    const ev = events.filter((e) => e.type === 'error');
    assert.equal(ev.length, 1);
    assert.equal(ev[0].streamId, 'x1');
    assert.match(ev[0].message, /\[stream "x1"\]/);
  }
});

test('an app can call publish() again from its error callback', async () => {
  const world = makeWorld();
  let a;
  let retried = false;
  a = new WebRTCAdaptor({
    websocket_url: 'ws://h/LiveApp/websocket',
    callbackError: (def) => { if (def === 'unauthorized_access' && !retried) { retried = true; a.publish('s1', 'fresh-token'); } },
  }, world.platform);
  await flush();
  world.socket.open();
  await flush();
  a.publish('s1', 'old-token');
  await flush();
  world.socket.receive({ command: 'error', definition: 'unauthorized_access', streamId: 's1' });
  await flush();
  assert.deepEqual(sentOf(world, 'publish').map((m) => m.token), ['old-token', 'fresh-token']);
});

test('unauthorized_access ends the attempt: no retry loop, no connection left', async () => {
  const { world, a } = await setup({ isPlayMode: true });
  a.play('s1', 'bad');
  await flush();
  world.socket.receive({ command: 'error', definition: 'unauthorized_access', streamId: 's1' });
  await world.clock.advance(120_000);
  assert.equal(sentOf(world, 'play').length, 1);
});

test('no_stream_exist with the waiting information: no retries; the server offer later starts playback', async () => {
  const { world, a, log } = await setup({ isPlayMode: true });
  a.play('later');
  await flush();
  world.socket.receive({ command: 'error', definition: 'no_stream_exist', streamId: 'later', error_code: '404', information: 'stream_not_exist_or_not_streaming' });
  await world.clock.advance(60_000);
  assert.equal(sentOf(world, 'play').length, 1, 'the server keeps the player waiting: nothing to retry');
  assert.deepEqual(sentOf(world, 'stop'), []);
  world.socket.receive({ command: 'takeConfiguration', streamId: 'later', type: 'offer', sdp: 'v=0\r\nm=video 9 x\r\n', idMapping: {} });
  await flush();
  world.pc.setIce('connected');
  world.socket.receive({ command: 'notification', definition: 'play_started', streamId: 'later' });
  assert.ok(names(log, 'info').includes('play_started'));
  assert.equal(sentOf(world, 'takeConfiguration').length, 1);
});

test('no_stream_exist without it: the player asks again with growing delays', async () => {
  const { world, a } = await setup({ isPlayMode: true });
  a.play('later');
  await flush();
  const times = [];
  for (let i = 0; i < 4; i += 1) {
    world.socket.receive({ command: 'error', definition: 'no_stream_exist', streamId: 'later' });
    await flush();
    const [delay] = world.clock.pendingDelays();
    times.push(delay);
    await world.clock.advance(delay);
  }
  assert.equal(sentOf(world, 'play').length, 5);
  assert.ok(times[1] > times[0] && times[2] > times[1], `delays grow: ${times}`);
});

// ------------------------------------------------------------------ reconnection

test('a dropped socket: closed, then publish and play resume by themselves on the new socket', async () => {
  const { world, a, log } = await setup();
  const pubPc = await publishLive(world, a, 'pub');
  const playPc = await playLive(world, a, 'other');
  world.sockets[0].drop();
  await flush();
  assert.ok(names(log, 'info').includes('closed'));
  assert.equal(pubPc.closed, true);
  assert.equal(playPc.closed, true);
  assert.equal(world.sockets.length, 1);
  const [delay] = world.clock.pendingDelays();
  assert.ok(delay >= 375 && delay <= 500, `first reconnect after ${delay} ms`);
  await world.clock.advance(delay);
  assert.equal(world.sockets.length, 2);
  world.socket.open();
  await flush();
  const second = world.sockets[1].commands().map((m) => m.command);
  assert.equal(second[0], 'getIceServerConfig');
  assert.deepEqual(second.slice(1, 3).sort(), ['play', 'publish']);
  const attempts = log.filter((e) => e.name.startsWith('reconnection_attempt_for_'));
  assert.deepEqual(attempts.map((e) => [e.name, e.data]), [['reconnection_attempt_for_publisher', 'pub'], ['reconnection_attempt_for_player', 'other']]);
  assert.equal(names(log, 'info').filter((n) => n === 'initialized').length, 2, 'initialized on each open, as the official SDK does');
  // The restored publish completes.
  world.socket.receive({ command: 'start', streamId: 'pub' });
  await flush();
  assert.equal(world.sockets[1].commands().filter((m) => m.command === 'takeConfiguration').length, 1);
  world.socket.receive({ command: 'notification', definition: 'session_restored', streamId: 'pub' });
  assert.ok(names(log, 'info').includes('session_restored'));
});

test('publish() while the socket is reconnecting waits for it instead of failing', async () => {
  const { world, a, log } = await setup();
  world.socket.drop();
  a.publish('s1');
  await flush();
  assert.deepEqual(names(log, 'error'), []);
  await world.clock.advance(500);
  world.socket.open();
  await flush();
  assert.equal(sentOf(world, 'publish').length, 1);
  assert.equal(log.filter((e) => e.name === 'reconnection_attempt_for_publisher').length, 0, 'a first request is not a reconnection');
});

test('streamIdInUse while resuming is retried (the server still holds the old session); a fresh publish is not', async () => {
  const { world, a, log } = await setup();
  await publishLive(world, a, 'cam');
  world.socket.drop();
  await world.clock.advance(500);
  world.socket.open();
  await flush();
  world.socket.receive({ command: 'error', definition: 'streamIdInUse', streamId: 'cam' });
  await flush();
  const [delay] = world.clock.pendingDelays();
  await world.clock.advance(delay);
  assert.equal(world.sockets[1].commands().filter((m) => m.command === 'publish').length, 2);
  assert.ok(names(log, 'error').includes('streamIdInUse'), 'the app still hears about it');

  const fresh = await setup();
  fresh.a.publish('taken');
  await flush();
  fresh.world.socket.receive({ command: 'error', definition: 'streamIdInUse', streamId: 'taken' });
  await fresh.world.clock.advance(60_000);
  assert.equal(sentOf(fresh.world, 'publish').length, 1);
});

test('ICE failure: stop, then publish again after a growing, bounded delay; the stale publish_finished is hidden', async () => {
  const { world, a, log } = await setup();
  let pc = await publishLive(world, a);
  const delays = [];
  for (let i = 0; i < 6; i += 1) {
    pc.setIce('failed');
    await flush();
    assert.equal(pc.closed, true);
    world.socket.receive({ command: 'notification', definition: 'publish_finished', streamId: 's1' });
    const [d] = world.clock.pendingDelays();
    delays.push(d);
    await world.clock.advance(d);
    world.socket.receive({ command: 'start', streamId: 's1' });
    await flush();
    pc = world.pc;
  }
  assert.equal(sentOf(world, 'stop').length, 6);
  assert.equal(sentOf(world, 'publish').length, 7);
  for (let i = 1; i < delays.length; i += 1) assert.ok(delays[i] >= delays[i - 1], `delays never shrink: ${delays}`);
  assert.ok(delays[0] >= 375 && delays.every((d) => d <= 10_000), `bounded: ${delays}`);
  assert.equal(log.filter((e) => e.name === 'publish_finished').length, 0, 'replies to our own retry stops are not forwarded');
  assert.equal(log.filter((e) => e.name === 'reconnection_attempt_for_publisher').length, 6);
  // A real play_finished after the stream connected again is not mistaken for a stale reply.
  // Once connected again the backoff starts over.
  pc.setIce('connected');
  pc.setIce('failed');
  await flush();
  assert.ok(world.clock.pendingDelays()[0] <= 500);
});

test('a player whose retry stop got no reply still hears the real play_finished later', async () => {
  const { world, a, log } = await setup({ isPlayMode: true, negotiationTimeoutMs: 2000 });
  a.play('s1');
  await flush();
  await world.clock.advance(2000); // no offer came: stop is sent, the server does not answer it
  await world.clock.advance(500);
  assert.equal(sentOf(world, 'play').length, 2);
  world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'offer', sdp: 'v=0\r\nm=video 9 x\r\n', idMapping: {} });
  await flush();
  world.pc.setIce('connected');
  world.socket.receive({ command: 'notification', definition: 'play_started', streamId: 's1' });
  world.socket.receive({ command: 'notification', definition: 'play_finished', streamId: 's1' });
  assert.equal(log.filter((e) => e.name === 'play_finished').length, 1);
  assert.equal(world.pc.closed, true);
});

test('a data channel that never opened raises no data_channel_closed', async () => {
  const { world, a, log } = await setup();
  await publishLive(world, a);
  a.stop('s1');
  assert.equal(log.filter((e) => e.name === 'data_channel_closed').length, 0);
});

test('a publish that never connects is retried after the negotiation timeout', async () => {
  const { world, a, log } = await setup({ negotiationTimeoutMs: 4000 });
  a.publish('s1');
  await flush();
  await world.clock.advance(4000);
  assert.equal(sentOf(world, 'stop').length, 1);
  await world.clock.advance(500);
  assert.equal(sentOf(world, 'publish').length, 2);
  assert.ok(names(log, 'info').includes('reconnection_attempt_for_publisher'));
});

test('ICE "disconnected" gets a grace period before a retry', async () => {
  const { world, a } = await setup();
  const pc = await publishLive(world, a);
  pc.setIce('disconnected');
  await world.clock.advance(4000);
  pc.setIce('connected');
  await world.clock.advance(10_000);
  assert.equal(sentOf(world, 'publish').length, 1, 'recovered by itself');
  pc.setIce('disconnected');
  await world.clock.advance(5000);
  assert.equal(sentOf(world, 'stop').length, 1);
});

test('server_will_stop: the socket is replaced at once and streams resume', async () => {
  const { world, a, log } = await setup({ isPlayMode: true });
  await playLive(world, a, 's1');
  world.socket.receive({ command: 'notification', definition: 'server_will_stop' });
  await flush();
  assert.equal(world.sockets.length, 2);
  world.socket.open();
  await flush();
  assert.equal(world.sockets[1].commands().filter((m) => m.command === 'play').length, 1);
  assert.ok(names(log, 'info').includes('server_will_stop'));
});

test('reconnectIfRequiredFlag: false turns automatic retries off', async () => {
  const { world, a, log } = await setup({ reconnectIfRequiredFlag: false });
  const pc = await publishLive(world, a);
  pc.setIce('failed');
  await world.clock.advance(60_000);
  assert.equal(sentOf(world, 'publish').length, 1);
  assert.ok(names(log, 'info').includes('reconnection_stopped'));
});

// ------------------------------------------------------------------ WebSocketNotSupported

test('WebSocketNotSupported: a page without WebSocket, and every call that needs the server', async () => {
  const { a, log, events } = await setup({}, { webSocket: false });
  assert.deepEqual(names(log, 'error'), ['WebSocketNotSupported']);
  assert.match(log[0].kind === 'error' ? log[0].data : log.find((e) => e.kind === 'error').data, /no WebSocket/);
  assert.equal(events.filter((e) => e.type === 'error')[0].definition, 'WebSocketNotSupported');
  a.publish('s1');
  a.play('s2');
  assert.equal(names(log, 'error').length, 3);
  assert.ok(!names(log, 'info').includes('initialized'));
});

test('WebSocketNotSupported after closeWebSocket(), naming the call; stop/leave stay silent', async () => {
  const { world, a, log } = await setup();
  await publishLive(world, a);
  a.closeWebSocket();
  assert.equal(world.socket.closedWith.code, 1000);
  assert.equal(world.pc.closed, true);
  for (const call of [() => a.publish('s1'), () => a.play('x'), () => a.join('p'), () => a.getStreamInfo('x'), () => a.joinRoom('r')]) call();
  const errs = log.filter((e) => e.kind === 'error');
  assert.deepEqual(errs.map((e) => e.name), Array(5).fill('WebSocketNotSupported'));
  assert.match(errs[0].data, /publish\(\) needs the connection to the server, which was closed with closeWebSocket\(\)/);
  assert.match(errs[3].data, /getStreamInfo\(\)/);
  a.stop('s1');
  a.leave('p');
  assert.equal(log.filter((e) => e.kind === 'error').length, 5);
  await world.clock.advance(60_000);
  assert.equal(world.sockets.length, 1, 'no reconnection after closeWebSocket');
});

test('no WebSocketNotSupported while the socket works or reconnects', async () => {
  const { world, a, log } = await setup();
  await publishLive(world, a);
  a.getStreamInfo('s1');
  world.socket.drop();
  a.getStreamInfo('s1');
  a.play('x');
  await world.clock.advance(500);
  assert.ok(!names(log, 'error').includes('WebSocketNotSupported'));
});

test('WebSocketNotConnected is reported once when the server cannot be reached; the SDK keeps trying', async () => {
  const world = makeWorld();
  const log = [];
  new WebRTCAdaptor(recordingOptions(log, { isPlayMode: true }), world.platform);
  await flush();
  for (let i = 0; i < 4; i += 1) {
    world.socket.fail();
    await world.clock.advance(world.clock.pendingDelays()[0]);
  }
  assert.deepEqual(names(log, 'error'), ['WebSocketNotConnected']);
  assert.match(log.find((e) => e.kind === 'error').data, /Could not reach the server at ws:\/\/tern\.example:5080/);
  assert.equal(world.sockets.length, 5);
});

// ------------------------------------------------------------------ SDP failures

test('notSetLocalDescription: a failing setLocalDescription is reported and the attempt ends', async () => {
  const { world, a, log, events } = await setup();
  world.failSetLocal = true;
  a.publish('s1');
  await flush();
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  const err = log.find((e) => e.kind === 'error');
  assert.equal(err.name, 'notSetLocalDescription');
  assert.match(err.data, /stream "s1".*InvalidModificationError/);
  assert.equal(events.find((e) => e.type === 'error').streamId, 's1');
  assert.deepEqual(sentOf(world, 'stop'), [{ command: 'stop', streamId: 's1' }]);
  assert.equal(world.pc.closed, true);
  await world.clock.advance(60_000);
  assert.equal(sentOf(world, 'publish').length, 1, 'no retry loop on a browser SDP failure');
  // After the cause goes away, publishing works again.
  world.failSetLocal = false;
  a.publish('s1');
  await flush();
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  assert.equal(sentOf(world, 'takeConfiguration').length, 1);
  assert.equal(names(log, 'error').length, 1);
});

test('notSetLocalDescription when createOffer itself fails', async () => {
  const { world, a, log } = await setup();
  world.failCreateOffer = true;
  a.publish('s1');
  await flush();
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  assert.deepEqual(names(log, 'error'), ['notSetLocalDescription']);
  assert.match(log.find((e) => e.kind === 'error').data, /OperationError: createOffer failed/);
  assert.deepEqual(sentOf(world, 'takeConfiguration'), []);
});

test('notSetLocalDescription for a player answer; notSetRemoteDescription for a refused offer; none when all is well', async () => {
  const ok = await setup({ isPlayMode: true });
  await playLive(ok.world, ok.a);
  assert.deepEqual(names(ok.log, 'error'), []);

  const bad = await setup({ isPlayMode: true });
  bad.world.failSetLocal = true;
  bad.a.play('s1');
  await flush();
  bad.world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'offer', sdp: 'v=0\r\n', idMapping: {} });
  await flush();
  assert.deepEqual(names(bad.log, 'error'), ['notSetLocalDescription']);

  const remote = await setup({ isPlayMode: true });
  remote.world.failSetRemote = true;
  remote.a.play('s1');
  await flush();
  remote.world.socket.receive({ command: 'takeConfiguration', streamId: 's1', type: 'offer', sdp: 'v=0\r\n', idMapping: {} });
  await flush();
  assert.deepEqual(names(remote.log, 'error'), ['notSetRemoteDescription']);
});

// ------------------------------------------------------------------ events API and isolation

test('events: info/error listeners get {definition, message, streamId, data}; official listener forms work', async () => {
  const world = makeWorld();
  const a = new WebRTCAdaptor({ websocket_url: 'ws://h/LiveApp/websocket', isPlayMode: true }, world.platform);
  const info = [];
  const plugin = [];
  const pluginErrors = [];
  const onInfo = (e) => info.push(e);
  a.addEventListener('info', onInfo);
  a.addEventListener((name, obj) => plugin.push([name, obj]));
  a.addErrorEventListener((def, msg) => pluginErrors.push([def, msg]));
  a.on('error', () => { throw new Error('a broken app listener'); });
  await flush();
  world.socket.open();
  await flush();
  world.socket.receive({ command: 'notification', definition: 'play_finished', streamId: 'z' });
  world.socket.receive({ command: 'error', definition: 'no_stream_exist', streamId: 'z' });
  const ev = info.find((e) => e.definition === 'play_finished');
  assert.deepEqual(ev, { definition: 'play_finished', message: 'Playing finished.', streamId: 'z', data: { command: 'notification', definition: 'play_finished', streamId: 'z' } });
  assert.ok(plugin.some(([n]) => n === 'initialized'));
  assert.deepEqual(pluginErrors.map(([d]) => d), ['no_stream_exist']);
  assert.ok(world.logLines.some(([l, t]) => l === 'error' && /listener threw/.test(t)), 'a throwing listener is logged, not fatal');
  a.removeEventListener('info', onInfo);
  world.socket.receive({ command: 'notification', definition: 'play_started', streamId: 'z' });
  assert.equal(info.filter((e) => e.definition === 'play_started').length, 0);
  assert.throws(() => a.addEventListener(/** @type {any} */ ('warning'), () => {}), TypeError);
});

test('two adaptors on one page do not interfere', async () => {
  const world = makeWorld();
  const logA = [];
  const logB = [];
  const a = new WebRTCAdaptor(recordingOptions(logA), world.platform);
  const b = new WebRTCAdaptor(recordingOptions(logB, { isPlayMode: true }), world.platform);
  await flush();
  const [sa, sb] = world.sockets;
  sa.open();
  sb.open();
  await flush();
  a.publish('x');
  b.play('x');
  await flush();
  sa.receive({ command: 'error', definition: 'unauthorized_access', streamId: 'x' });
  assert.deepEqual(names(logA, 'error'), ['unauthorized_access']);
  assert.deepEqual(names(logB, 'error'), []);
  a.closeWebSocket();
  b.getStreamInfo('x');
  assert.deepEqual(names(logB, 'error'), []);
  assert.equal(sb.commands().filter((m) => m.command === 'getStreamInfo').length, 1);
  a.muteLocalMic();
  assert.equal(names(logB, 'error').length, 0);
});

// ------------------------------------------------------------------ peer to peer and rooms

test('P2P: join, start → sendrecv offer with a data channel; the other side answers with its tracks', async () => {
  const { world, a, log } = await setup();
  a.join('p2p');
  await flush();
  assert.deepEqual(sentOf(world, 'join'), [{ command: 'join', streamId: 'p2p', multiPeer: false, mode: 'both' }]);
  world.socket.receive({ command: 'notification', definition: 'joined', streamId: 'p2p' });
  await world.clock.advance(60_000);
  assert.equal(sentOf(world, 'join').length, 1, 'waiting alone is not a failure');
  world.socket.receive({ command: 'start', streamId: 'p2p' });
  await flush();
  const pc = world.pc;
  assert.deepEqual(pc.transceivers.map((t) => t.direction), ['sendrecv', 'sendrecv']);
  assert.equal(pc.channels[0].label, 'p2p');
  assert.equal(sentOf(world, 'takeConfiguration')[0].type, 'offer');
  // The peer leaves: the server says stop; the connection closes silently.
  world.socket.receive({ command: 'stop', streamId: 'p2p' });
  assert.equal(pc.closed, true);
  assert.ok(!names(log, 'error').length);

  const other = await setup();
  other.a.join('p2p');
  await flush();
  other.world.socket.receive({ command: 'takeConfiguration', streamId: 'p2p', type: 'offer', sdp: 'v=0\r\nm=audio 9 x\r\nm=video 9 x\r\n', idMapping: {} });
  await flush();
  const opc = other.world.pc;
  assert.deepEqual(opc.transceivers.map((t) => [t.receiver.track.kind, t.direction, !!t.sender.track]), [['audio', 'sendrecv', true], ['video', 'sendrecv', true]]);
  assert.equal(sentOf(other.world, 'takeConfiguration')[0].type, 'answer');
  other.a.peerMessage('p2p', 'hello', { x: 1 });
  assert.deepEqual(sentOf(other.world, 'peerMessageCommand'), [{ command: 'peerMessageCommand', streamId: 'p2p', definition: 'hello', data: { x: 1 } }]);
  other.a.leave('p2p');
  assert.deepEqual(sentOf(other.world, 'leave'), [{ command: 'leave', streamId: 'p2p' }]);
  assert.equal(opc.closed, true);
});

test('rooms: joinRoom / getRoomInfo / leaveFromRoom shapes; joinRoom is sent again after a reconnection', async () => {
  const { world, a } = await setup();
  a.joinRoom('room1', 'me');
  a.getRoomInfo('room1', 'me');
  a.getTrackList('room1', 'tok');
  a.enableTrack('room1', 'p2', false);
  a.forceStreamQuality('room1', 360);
  assert.deepEqual(world.socket.commands().slice(1), [
    { command: 'joinRoom', room: 'room1', mainTrack: 'room1', streamId: 'me' },
    { command: 'getRoomInfo', room: 'room1', streamId: 'me' },
    { command: 'getTrackList', streamId: 'room1', token: 'tok' },
    { command: 'enableTrack', streamId: 'room1', trackId: 'p2', enabled: false },
    { command: 'forceStreamQuality', streamId: 'room1', streamHeight: 360 },
  ]);
  world.socket.drop();
  await world.clock.advance(500);
  world.socket.open();
  await flush();
  assert.deepEqual(world.sockets[1].commands().map((m) => m.command), ['getIceServerConfig', 'joinRoom']);
  await publishLive(world, a, 'me');
  a.leaveFromRoom('room1', 'me');
  assert.equal(world.pc.closed, true);
  assert.deepEqual(sentOf(world, 'leaveFromRoom'), [{ command: 'leaveFromRoom', room: 'room1', mainTrack: 'room1', streamId: 'me' }]);
  world.socket.drop();
  await world.clock.advance(500);
  world.socket.open();
  await flush();
  assert.deepEqual(world.sockets[2].commands().map((m) => m.command), ['getIceServerConfig'], 'nothing to resume after leaving');
});

test('getStats resolves the PeerStats fields and raises updated_stats; false without a connection', async () => {
  const { world, a, log } = await setup({ isPlayMode: true });
  assert.equal(await a.getStats('none'), false);
  await playLive(world, a);
  const s = await a.getStats('s1');
  assert.equal(s.streamId, 's1');
  assert.equal(s.framesDecoded, 5);
  assert.equal(s.frameWidth, 640);
  assert.equal(s.totalBytesReceivedCount, 1200);
  assert.equal(s.videoPacketsLost, 1);
  assert.equal(s.audioPacketsReceived, 8);
  assert.equal(s.inboundRtpList.length, 2);
  assert.ok(names(log, 'info').includes('updated_stats'));
});
