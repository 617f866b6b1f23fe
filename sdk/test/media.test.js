// Local media through the adaptor: each capture failure raises its ERRORS.md definition exactly
// when its condition holds, and not otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebRTCAdaptor, NOT_READABLE_MESSAGE } from '../src/webrtc_adaptor.js';
import { makeWorld, recordingOptions, flush } from '../test-support/fakes.js';

async function setup(opts = {}, worldOpts = {}, prepare = () => {}) {
  const world = makeWorld(worldOpts);
  prepare(world);
  const log = [];
  const events = [];
  const a = new WebRTCAdaptor(recordingOptions(log, opts), world.platform);
  a.on('error', (e) => events.push(e));
  await flush();
  world.socket?.open();
  await flush();
  return { world, a, log, events };
}

const errors = (log) => log.filter((e) => e.kind === 'error');
const names = (log, kind) => log.filter((e) => kind == null || e.kind === kind).map((e) => e.name);

/** The track a publishing connection sends for `kind`. */
const sent = (pc, kind) => pc.transceivers.find((t) => t.receiver.track.kind === kind).sender.track;

async function publishing(world, a) {
  a.publish('s1');
  await flush();
  world.socket.receive({ command: 'start', streamId: 's1' });
  await flush();
  return world.pc;
}

for (const [name, definition, check] of [
  ['NotAllowedError', 'NotAllowedError', (m) => assert.match(m, /denied.*camera and microphone/s)],
  ['PermissionDeniedError', 'NotAllowedError', () => {}],
  ['NotFoundError', 'NotFoundError', (m) => assert.match(m, /No camera and microphone was found/)],
  ['NotReadableError', 'NotReadableError', (m) => assert.equal(m, NOT_READABLE_MESSAGE)],
  ['TrackStartError', 'NotReadableError', (m) => assert.equal(m, NOT_READABLE_MESSAGE)],
  ['AbortError', 'AbortError', (m) => assert.match(m, /camera and microphone could not be started/)],
  ['SecurityError', 'SecurityError', (m) => assert.match(m, /permissions policy/)],
]) {
  test(`getUserMedia rejecting with ${name} raises ${definition} on both channels; the socket still opens`, async () => {
    const { world, a, log, events } = await setup({}, {}, (w) => { w.devices.fail = () => new DOMException('browser words', name); });
    assert.deepEqual(names(log, 'error'), [definition]);
    check(errors(log)[0].data);
    assert.equal(events[0].definition, definition);
    assert.equal(events[0].message, errors(log)[0].data);
    assert.ok(names(log, 'info').includes('initialized'), 'the page can still play or retry');
    // publish() needs media: it asks again and reports again while the cause persists ...
    a.publish('s1');
    await flush();
    assert.deepEqual(names(log, 'error'), [definition, definition]);
    assert.equal(world.socket.commands().filter((m) => m.command === 'publish').length, 0);
    // ... and works once the cause is gone.
    world.devices.fail = null;
    a.publish('s1');
    await flush();
    assert.equal(world.socket.commands().filter((m) => m.command === 'publish').length, 1);
    assert.equal(names(log, 'error').length, 2);
  });
}

test('no capture error at all when the devices work', async () => {
  const { log } = await setup();
  assert.deepEqual(errors(log), []);
});

test('NotFoundError also lists the available devices (unlike the official SDK, it is reported)', async () => {
  const { log } = await setup({ mediaConstraints: { video: true, audio: false } }, {}, (w) => {
    w.devices.fail = () => new DOMException('Requested device not found', 'NotFoundError');
    w.devices.devices = [{ kind: 'audioinput', deviceId: 'm', label: 'Mic', groupId: 'g' }];
  });
  assert.deepEqual(names(log, 'error'), ['NotFoundError']);
  assert.match(errors(log)[0].data, /No camera was found/);
  await flush();
  const devices = log.find((e) => e.name === 'available_devices');
  assert.deepEqual(devices.data.map((d) => d.kind), ['audioinput']);
});

test('OverconstrainedError names the constraint and what was asked', async () => {
  const { log } = await setup({ mediaConstraints: { video: { width: { exact: 99999 } }, audio: false } }, {}, (w) => {
    w.devices.fail = (c) => (c.video && c.video.width ? Object.assign(new Error(''), { name: 'OverconstrainedError', constraint: 'width' }) : null);
  });
  assert.deepEqual(names(log, 'error'), ['OverconstrainedError']);
  assert.match(errors(log)[0].data, /No camera can satisfy the constraint "width" = \{"exact":99999\}/);
});

test('SecurityError: a permissions policy that blocks the camera is detected before asking the browser', async () => {
  const { world, log } = await setup({}, {}, (w) => { w.document.blocked.add('camera'); });
  assert.deepEqual(names(log, 'error'), ['SecurityError']);
  assert.match(errors(log)[0].data, /\(camera\)/);
  assert.deepEqual(world.devices.calls, [], 'getUserMedia is not even called');
  const allowed = await setup({}, {}, (w) => { w.document.blocked.add('display-capture'); });
  assert.deepEqual(errors(allowed.log), [], 'a policy that allows camera and microphone raises nothing');
});

test('NotSupportedError on an insecure page when media is needed; a player there is fine until it asks for media', async () => {
  const pub = await setup({}, { secure: false });
  assert.deepEqual(names(pub.log, 'error'), ['NotSupportedError']);
  assert.match(errors(pub.log)[0].data, /https:\/\//);
  const player = await setup({ isPlayMode: true }, { secure: false });
  assert.deepEqual(errors(player.log), []);
  assert.equal(await player.a.startVideo(), false);
  assert.deepEqual(names(player.log, 'error'), ['NotSupportedError']);
  assert.equal(await player.a.switchDesktopCapture('x'), false);
  assert.deepEqual(names(player.log, 'error'), ['NotSupportedError', 'NotSupportedError']);
  const secure = await setup();
  assert.ok(!names(secure.log, 'error').includes('NotSupportedError'));
});

test('AudioAlreadyActive: startAudio() with a live microphone; not when there is none', async () => {
  const { world, a, log } = await setup();
  assert.equal(await a.startAudio(), false);
  assert.deepEqual(names(log, 'error'), ['AudioAlreadyActive']);
  assert.match(errors(log)[0].data, /microphone track is already live \("Mic 1"\)/);
  assert.equal(world.devices.calls.length, 1, 'no second capture');

  const videoOnly = await setup({ mediaConstraints: { video: true, audio: false } });
  const pc = await publishing(videoOnly.world, videoOnly.a);
  assert.equal(await videoOnly.a.startAudio(), true);
  assert.deepEqual(errors(videoOnly.log), []);
  assert.equal(videoOnly.a.localStream.getAudioTracks().length, 1);
  assert.equal(pc.transceivers.length, 1, 'video only: the new audio goes out from the next publish');

  // After the microphone track ended (device unplugged) starting audio again is allowed and re-sent.
  const pc2 = await publishing(world, a);
  const mic = a.localStream.getAudioTracks()[0];
  mic.stop();
  assert.equal(await a.startAudio(), true);
  assert.deepEqual(names(log, 'error'), ['AudioAlreadyActive']);
  const fresh = a.localStream.getAudioTracks()[0];
  assert.notEqual(fresh, mic);
  assert.equal(sent(pc2, 'audio'), fresh);
});

test('VideoAlreadyActive: startVideo() with a live camera or screen; not when the camera is off or absent', async () => {
  const { world, a, log } = await setup();
  assert.equal(await a.startVideo(), false);
  assert.deepEqual(names(log, 'error'), ['VideoAlreadyActive']);
  const pc = await publishing(world, a);
  await a.turnOffLocalCamera();
  assert.equal(sent(pc, 'video').label, 'canvas', 'black frames while the camera is off');
  assert.equal(await a.startVideo(), true, 'the camera is off: starting video is allowed');
  assert.equal(sent(pc, 'video').label, 'Camera 1');
  assert.deepEqual(names(log, 'error'), ['VideoAlreadyActive']);
  assert.equal(await a.switchDesktopCapture('s1'), true);
  assert.equal(await a.startVideo(), false, 'a shared screen is a live video track');
  assert.deepEqual(names(log, 'error'), ['VideoAlreadyActive', 'VideoAlreadyActive']);

  const audioOnly = await setup({ mediaConstraints: { video: false, audio: true } });
  assert.equal(await audioOnly.a.startVideo(), true);
  assert.deepEqual(errors(audioOnly.log), []);
});

test('screen_share_permission_denied: the picker is refused and the camera stays on', async () => {
  const { world, a, log, events } = await setup();
  const pc = await publishing(world, a);
  const camera = sent(pc, 'video');
  world.devices.failDisplay = new DOMException('Permission denied', 'NotAllowedError');
  assert.equal(await a.switchDesktopCapture('s1'), false);
  assert.deepEqual(names(log, 'error'), ['screen_share_permission_denied']);
  assert.equal(events[0].definition, 'screen_share_permission_denied');
  assert.equal(sent(pc, 'video'), camera);
  assert.equal(camera.readyState, 'live');
  assert.equal(await a.switchDesktopCaptureWithCamera('s1'), false);
  assert.deepEqual(names(log, 'error'), ['screen_share_permission_denied', 'screen_share_permission_denied']);
  assert.equal(camera.readyState, 'live');
  assert.ok(!names(log).includes('screen_share_stopped'));
});

test('screen_share_stopped: the browser ends the shared screen; the camera comes back', async () => {
  const { world, a, log } = await setup();
  const pc = await publishing(world, a);
  const camera = sent(pc, 'video');
  assert.equal(await a.switchDesktopCapture('s1'), true);
  const screen = world.devices.lastDisplayTrack;
  assert.equal(sent(pc, 'video'), screen);
  assert.equal(camera.readyState, 'ended', 'the camera is released while the screen is shared');
  assert.deepEqual(errors(log), []);
  screen.endByBrowser();
  await flush();
  assert.deepEqual(names(log, 'error'), ['screen_share_stopped']);
  assert.ok(names(log, 'info').includes('screen_share_stopped'), 'also the info callback of the official SDK');
  const back = sent(pc, 'video');
  assert.equal(back.kind, 'video');
  assert.equal(back.label, 'Camera 1');
  assert.equal(back.readyState, 'live');
});

test('no screen_share_stopped when the app itself switches back to the camera', async () => {
  const { world, a, log } = await setup();
  const pc = await publishing(world, a);
  await a.switchDesktopCapture('s1');
  const screen = world.devices.lastDisplayTrack;
  assert.equal(await a.switchVideoCameraCapture('s1', 'cam1'), true);
  assert.equal(screen.readyState, 'ended');
  screen.endByBrowser();
  await flush();
  assert.deepEqual(errors(log), []);
  assert.equal(sent(pc, 'video').label, 'Camera 1');
  assert.deepEqual(world.devices.calls.at(-1), { video: { deviceId: { exact: 'cam1' } } });
});

test('screen with camera: a composed track is sent; ending the screen goes back to the live camera', async () => {
  const { world, a, log } = await setup();
  const pc = await publishing(world, a);
  const camera = sent(pc, 'video');
  assert.equal(await a.switchDesktopCaptureWithCamera('s1'), true);
  assert.equal(sent(pc, 'video').label, 'canvas');
  assert.equal(camera.readyState, 'live', 'the camera is drawn in the corner');
  world.devices.lastDisplayTrack.endByBrowser();
  await flush();
  assert.deepEqual(names(log, 'error'), ['screen_share_stopped']);
  assert.equal(sent(pc, 'video'), camera);
});

test('mediaConstraints video "screen": the picker first; refused → screen_share_permission_denied and the camera instead', async () => {
  const ok = await setup({ mediaConstraints: { video: 'screen', audio: true } });
  assert.equal(ok.world.devices.displayCalls, 1);
  assert.deepEqual(ok.a.localStream.getTracks().map((t) => t.label).sort(), ['Mic 1', 'screen:0:0']);
  const refused = await setup({ mediaConstraints: { video: 'screen', audio: true } }, {}, (w) => {
    w.devices.failDisplay = new DOMException('Permission denied', 'NotAllowedError');
  });
  assert.deepEqual(names(refused.log, 'error'), ['screen_share_permission_denied']);
  assert.deepEqual(refused.a.localStream.getTracks().map((t) => t.label).sort(), ['Camera 1', 'Mic 1']);
});

test('mute, camera off/on, switching the microphone', async () => {
  const { world, a, log } = await setup({ localVideoId: 'localVideo' });
  const pc = await publishing(world, a);
  assert.equal(world.document.getElementById('localVideo').srcObject, a.localStream);
  assert.equal(world.document.getElementById('localVideo').muted, true);
  a.muteLocalMic();
  assert.equal(sent(pc, 'audio').enabled, false);
  assert.equal(await a.switchAudioInputSource('s1', 'mic2'), true);
  assert.equal(sent(pc, 'audio').enabled, false, 'a new microphone stays muted');
  assert.deepEqual(world.devices.calls.at(-1), { audio: { deviceId: { exact: 'mic2' } } });
  a.unmuteLocalMic();
  assert.equal(sent(pc, 'audio').enabled, true);
  const camera = sent(pc, 'video');
  await a.turnOffLocalCamera('s1');
  assert.equal(camera.readyState, 'ended', 'the camera light goes off');
  await a.turnOnLocalCamera('s1');
  assert.equal(sent(pc, 'video').label, 'Camera 1');
  assert.equal(sent(pc, 'video').readyState, 'live');
  assert.deepEqual(errors(log), []);
});

test('NoActiveConnection: mic and camera controls with no local stream', async () => {
  const { a, log } = await setup({ isPlayMode: true });
  a.muteLocalMic();
  a.unmuteLocalMic();
  await a.turnOffLocalCamera('x');
  assert.deepEqual(names(log, 'error'), ['NoActiveConnection', 'NoActiveConnection', 'NoActiveConnection']);
  assert.match(errors(log)[0].data, /muteLocalMic\(\) needs a local camera or microphone/);
});

test('closeStream stops every local track', async () => {
  const { a } = await setup();
  const tracks = a.localStream.getTracks();
  a.closeStream();
  assert.ok(tracks.every((t) => t.readyState === 'ended'));
  assert.equal(a.localStream, null);
});
