// ERRORS.md rows raised by Tern's SDK that Chromium can trigger with fake devices and the fake
// permission UI: each with its real trigger where one exists, and each with a test that the
// error is NOT raised when its condition does not hold. Every error must reach the app twice:
// callbackError(definition, message) and the "error" event (see sdk-harness expectError).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { withHarness } from '../lib/sdk-harness.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { sleep } from '../lib/poll.mjs';

let env;
before(async () => { env = await startSdkEnv(); });
after(async () => { await env?.close(); });
afterEach(async () => { await env.closePages(); });

const NOT_READABLE = 'Camera or Mic is being used by some other process that does not let read the devices';

/** A publisher adaptor "a" on a fresh page, connected; returns the page. */
async function publisherPage(label, options = {}, params = {}) {
  const p = await env.open(label, { params });
  await p.make('a', options);
  await p.waitFor('a', 'initialized');
  return p;
}

// ------------------------------------------------------------------ OverconstrainedError

test('OverconstrainedError: a deviceId no camera has, and an impossible width, name the constraint', { timeout: 30_000 }, async () => {
  await env.guard('overconstrained', async () => {
    const p = await publisherPage('overconstrained-id', { mediaConstraints: { video: { deviceId: { exact: 'missing-camera' } }, audio: false } });
    const msg = await p.expectError('a', 'OverconstrainedError');
    assert.match(msg, /constraint "deviceId"/);
    const q = await publisherPage('overconstrained-width', { mediaConstraints: { video: { width: { exact: 99999 } }, audio: true } });
    assert.match(await q.expectError('a', 'OverconstrainedError'), /constraint "width" = \{"exact":99999\}/);
  });
});

test('no OverconstrainedError for constraints the camera meets', { timeout: 30_000 }, async () => {
  await env.guard('overconstrained-not', async () => {
    const p = await publisherPage('constraints-ok', { mediaConstraints: { video: { width: { exact: 640 }, height: { exact: 480 } }, audio: true } });
    await sleep(300);
    assert.deepEqual(await p.errorsOf('a'), []);
    const tracks = await p.page.evaluate(() => window.localTracks('a'));
    assert.deepEqual(tracks.map((t) => t.kind).sort(), ['audio', 'video']);
  });
});

// ------------------------------------------------------------------ AudioAlreadyActive / VideoAlreadyActive

test('AudioAlreadyActive and VideoAlreadyActive: starting a live microphone or camera again', { timeout: 30_000 }, async () => {
  await env.guard('already-active', async () => {
    const p = await publisherPage('already-active');
    assert.equal(await p.call('a', 'startAudio'), false);
    assert.match(await p.expectError('a', 'AudioAlreadyActive'), /microphone track is already live/);
    assert.equal(await p.call('a', 'startVideo'), false);
    assert.match(await p.expectError('a', 'VideoAlreadyActive'), /video track is already live/);
    assert.deepEqual(await p.errorsOf('a'), ['AudioAlreadyActive', 'VideoAlreadyActive']);
  });
});

test('no AudioAlreadyActive / VideoAlreadyActive when there is no live track of that kind', { timeout: 30_000 }, async () => {
  await env.guard('already-active-not', async () => {
    const p = await publisherPage('not-active', { mediaConstraints: { video: false, audio: false } });
    assert.equal(await p.call('a', 'startAudio'), true);
    assert.equal(await p.call('a', 'startVideo'), true);
    // After the camera was turned off, starting it is allowed again.
    await p.call('a', 'turnOffLocalCamera', 'x');
    assert.equal(await p.call('a', 'startVideo'), true);
    assert.deepEqual(await p.errorsOf('a'), []);
    const tracks = await p.page.evaluate(() => window.localTracks('a'));
    assert.deepEqual(tracks.filter((t) => t.readyState === 'live').map((t) => t.kind).sort(), ['audio', 'video']);
  });
});

// ------------------------------------------------------------------ AbortError / NotReadableError (no real trigger in Chromium)

for (const [name, browserMessage, check] of [
  ['AbortError', 'Timeout starting video source', (m) => assert.match(m, /camera and microphone could not be started.*Timeout starting video source/)],
  ['NotReadableError', 'Could not start video source', (m) => assert.equal(m, NOT_READABLE)],
]) {
  test(`${name}: getUserMedia rejecting with ${name} (no real trigger exists in Chromium)`, { timeout: 30_000 }, async () => {
    await env.guard(`stub-${name}`, async () => {
      const p = await env.open(`stub-${name}`);
      await p.page.evaluate(([n, m]) => {
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException(m, n));
      }, [name, browserMessage]);
      await p.make('a');
      check(await p.expectError('a', name));
      assert.deepEqual(await p.errorsOf('a'), [name]);
    });
  });
}

test('no AbortError / NotReadableError when the devices start', { timeout: 30_000 }, async () => {
  await env.guard('stub-not', async () => {
    const p = await publisherPage('devices-start');
    await sleep(300);
    const errs = await p.errorsOf('a');
    assert.ok(!errs.includes('AbortError') && !errs.includes('NotReadableError'), `errors: ${errs}`);
    assert.deepEqual(errs, []);
  });
});

// ------------------------------------------------------------------ SecurityError (real: iframe permissions policy)

async function framedHarness(label, allow) {
  const p = await env.openUrl(env.pageUrl('tern-frame.html', { allow }), label);
  const frame = await (async () => {
    for (let i = 0; i < 100; i += 1) {
      const f = p.page.frames().find((x) => x.url().includes('tern-sdk.html'));
      if (f) return f;
      await sleep(100);
    }
    throw new Error('the harness iframe did not load');
  })();
  await frame.waitForFunction(() => window.ternReady === true, null, { timeout: 10_000 });
  // Point the harness helpers at the frame.
  const framed = withHarness({ ...p, page: frame, events: () => frame.evaluate(() => window.events.slice()) });
  return framed;
}

test('SecurityError: camera and microphone disabled for an iframe by its permissions policy', { timeout: 30_000 }, async () => {
  await env.guard('security-iframe', async () => {
    const f = await framedHarness('iframe-no-media', 'none');
    await f.make('a');
    const msg = await f.expectError('a', 'SecurityError');
    assert.match(msg, /permissions policy \(camera, microphone\)/);
    assert.match(msg, /allow="camera; microphone"/);
    assert.deepEqual(await f.errorsOf('a'), ['SecurityError']);
  });
});

test('no SecurityError in an iframe that allows camera and microphone', { timeout: 30_000 }, async () => {
  await env.guard('security-iframe-not', async () => {
    const f = await framedHarness('iframe-media', 'media');
    await f.make('a');
    await f.waitFor('a', 'initialized');
    await sleep(300);
    assert.deepEqual(await f.errorsOf('a'), []);
  });
});

// ------------------------------------------------------------------ WebSocketNotSupported

test('WebSocketNotSupported: a page without WebSocket, and publish() after closeWebSocket()', { timeout: 30_000 }, async () => {
  await env.guard('websocket-not-supported', async () => {
    const p = await env.open('no-websocket');
    await p.page.evaluate(() => { delete window.WebSocket; });
    await p.make('a', { isPlayMode: true });
    assert.match(await p.expectError('a', 'WebSocketNotSupported'), /no WebSocket/);

    const q = await publisherPage('closed-socket');
    await q.call('a', 'closeWebSocket');
    await q.call('a', 'publish', uniqueStreamId('closed'));
    const msg = await q.expectError('a', 'WebSocketNotSupported');
    assert.match(msg, /publish\(\) needs the connection to the server, which was closed with closeWebSocket\(\)/);
    const sentPublish = q.signaling().filter((f) => f.dir === 'sent' && f.msg?.command === 'publish');
    assert.deepEqual(sentPublish, [], 'nothing was sent');
  });
});

test('no WebSocketNotSupported while the connection is up', { timeout: 30_000 }, async () => {
  await env.guard('websocket-not-supported-not', async () => {
    const p = await publisherPage('socket-up');
    const id = uniqueStreamId('up');
    await p.call('a', 'publish', id);
    await p.waitFor('a', 'publish_started', { match: (d) => d?.streamId === id });
    await p.call('a', 'getStreamInfo', id);
    await p.waitFor('a', 'streamInformation');
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});

// ------------------------------------------------------------------ notSetLocalDescription (SDK side)

test('notSetLocalDescription: the browser fails setLocalDescription while publishing', { timeout: 30_000 }, async () => {
  await env.guard('set-local-description', async () => {
    const p = await publisherPage('sld-fails');
    await p.page.evaluate(() => {
      RTCPeerConnection.prototype.setLocalDescription = function failing() {
        return Promise.reject(new DOMException('Failed to set local offer sdp: injected', 'InvalidModificationError'));
      };
    });
    const id = uniqueStreamId('sld');
    await p.call('a', 'publish', id);
    const msg = await p.expectError('a', 'notSetLocalDescription');
    assert.match(msg, new RegExp(`stream "${id}".*InvalidModificationError`));
    const ev = await p.waitFor('a', 'notSetLocalDescription', { kind: 'error-event' });
    assert.equal(ev.data.streamId, id);
    // The attempt ends cleanly: the server is told to stop, and nothing loops.
    await sleep(1500);
    const sent = p.signaling().filter((f) => f.dir === 'sent').map((f) => f.msg?.command);
    assert.equal(sent.filter((c) => c === 'publish').length, 1);
    assert.ok(sent.includes('stop'), `sent: ${sent}`);
  });
});

test('no notSetLocalDescription when publishing and playing normally', { timeout: 30_000 }, async () => {
  await env.guard('set-local-description-not', async () => {
    const p = await publisherPage('sld-ok');
    const id = uniqueStreamId('sldok');
    await p.call('a', 'publish', id);
    await p.waitFor('a', 'publish_started');
    const q = await env.open('sld-ok-player');
    await q.make('b', { isPlayMode: true, localVideoId: undefined });
    await q.call('b', 'play', id);
    await q.waitFor('b', 'play_started');
    assert.deepEqual(await p.errorsOf('a'), []);
    assert.deepEqual(await q.errorsOf('b'), []);
  });
});

// ------------------------------------------------------------------ screen_share_permission_denied

test('screen_share_permission_denied: the page may not capture the screen; the camera stays on', { timeout: 30_000 }, async () => {
  await env.guard('screen-denied', async () => {
    // The static server sends "Permissions-Policy: display-capture=()": getDisplayMedia is refused at once.
    const p = await publisherPage('screen-denied');
    const id = uniqueStreamId('scr');
    await p.call('a', 'publish', id);
    await p.waitFor('a', 'publish_started');
    assert.equal(await p.call('a', 'switchDesktopCapture', id), false);
    assert.match(await p.expectError('a', 'screen_share_permission_denied'), /camera stays on/);
    const tracks = await p.page.evaluate(() => window.localTracks('a'));
    const video = tracks.find((t) => t.kind === 'video');
    assert.equal(video.readyState, 'live');
    assert.doesNotMatch(video.label, /screen|web-contents/);
    assert.deepEqual(await p.errorsOf('a'), ['screen_share_permission_denied']);
  });
});

test('no screen_share_permission_denied when screen capture is allowed (fake UI accepts the picker)', { timeout: 30_000 }, async () => {
  await env.guard('screen-denied-not', async () => {
    const p = await publisherPage('screen-allowed', {}, { displayCapture: 'allow' });
    assert.equal(await p.call('a', 'switchDesktopCapture', 'x'), true);
    const tracks = await p.page.evaluate(() => window.localTracks('a'));
    assert.match(tracks.find((t) => t.kind === 'video').label, /screen/);
    assert.equal(await p.call('a', 'switchDesktopCaptureWithCamera', 'x'), true);
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});
