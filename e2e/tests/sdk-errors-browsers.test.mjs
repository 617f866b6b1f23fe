// ERRORS.md rows whose real trigger needs Chromium launched differently:
//   NotAllowedError        no fake permission UI and no permission granted (headless denies)
//   NotFoundError          no fake devices: this machine has no camera or microphone
//   NotSupportedError      the page on http://tern.test (mapped to 127.0.0.1): not a secure context
//   screen_share_stopped   a real tab is shared (picked by title) and then closed, which ends the display track
// each with a test that the error is not raised when its condition does not hold.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { openTernPageInContext } from '../lib/sdk-harness.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { sleep, waitUntil } from '../lib/poll.mjs';

const FAKE_UI = '--use-fake-ui-for-media-stream';
const FAKE_DEVICES = '--use-fake-device-for-media-stream';
const SHARE_TITLE = 'TernShareTarget';

/** One environment per Chromium configuration; created lazily, closed at the end. */
const envs = {};
async function envFor(kind) {
  if (!envs[kind]) {
    const opts = {
      noPrompt: { dropArgs: [FAKE_UI] },
      noDevices: { dropArgs: [FAKE_DEVICES] },
      insecure: { extraArgs: ['--host-resolver-rules=MAP tern.test 127.0.0.1'] },
      tabCapture: { dropArgs: [FAKE_UI], extraArgs: [`--auto-select-tab-capture-source-by-title=${SHARE_TITLE}`] },
    }[kind];
    envs[kind] = await startSdkEnv(opts);
  }
  return envs[kind];
}

before(async () => { await envFor('noPrompt'); });
after(async () => { for (const e of Object.values(envs)) await e.close(); });
afterEach(async () => { for (const e of Object.values(envs)) await e.closePages(); });

async function guard(kind, name, fn) {
  const env = await envFor(kind);
  return env.guard(name, () => fn(env));
}

// ------------------------------------------------------------------ NotAllowedError

test('NotAllowedError: camera and microphone denied (no permission granted, no fake UI)', { timeout: 40_000 }, async () => {
  await guard('noPrompt', 'not-allowed', async (env) => {
    const p = await env.open('denied');
    await p.make('a');
    const msg = await p.expectError('a', 'NotAllowedError');
    assert.match(msg, /Access to the camera and microphone was denied/);
    // The connection still opens: the page can play, or publish once the user allows the devices.
    await p.waitFor('a', 'initialized');
    assert.deepEqual(await p.errorsOf('a'), ['NotAllowedError']);
    await p.context.grantPermissions(['camera', 'microphone']);
    const id = uniqueStreamId('allowed');
    await p.call('a', 'publish', id);
    await p.waitFor('a', 'publish_started', { match: (d) => d?.streamId === id, timeoutMs: 15_000 });
    assert.deepEqual(await p.errorsOf('a'), ['NotAllowedError'], 'publishing after the fix raises nothing new');
  });
});

test('no NotAllowedError when the permission is granted', { timeout: 40_000 }, async () => {
  await guard('noPrompt', 'not-allowed-not', async (env) => {
    const p = await env.open('granted', { grant: true });
    await p.make('a');
    await p.waitFor('a', 'initialized');
    await sleep(300);
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});

// ------------------------------------------------------------------ NotFoundError

test('NotFoundError: no camera on the machine; the devices the browser sees are still listed', { timeout: 40_000 }, async () => {
  await guard('noDevices', 'not-found', async (env) => {
    const p = await env.open('no-camera');
    await p.make('a', { mediaConstraints: { video: true, audio: false } });
    assert.match(await p.expectError('a', 'NotFoundError'), /No camera was found/);
    const devices = await p.waitFor('a', 'available_devices', { kind: 'callback' });
    assert.ok(Array.isArray(devices.data), `available_devices payload: ${JSON.stringify(devices.data)}`);
    assert.ok(!devices.data.some((d) => d.kind === 'videoinput'), 'no camera listed');
    assert.equal(await p.call('a', 'startVideo'), false);
    assert.deepEqual(await p.errorsOf('a'), ['NotFoundError', 'NotFoundError']);
  });
});

test('no NotFoundError without a camera when none is asked for, nor with one when one is', { timeout: 40_000 }, async () => {
  await guard('noDevices', 'not-found-not', async (env) => {
    const p = await env.open('player-without-camera');
    await p.make('a', { isPlayMode: true });
    await p.waitFor('a', 'initialized');
    const q = await env.open('data-only-without-camera');
    await q.make('a', { onlyDataChannel: true });
    const id = uniqueStreamId('dataonly');
    await q.waitFor('a', 'initialized');
    await q.call('a', 'publish', id);
    await q.waitFor('a', 'publish_started');
    assert.deepEqual(await p.errorsOf('a'), []);
    assert.deepEqual(await q.errorsOf('a'), []);
  });
  await guard('noPrompt', 'not-found-not-fake', async (env) => {
    const p = await env.open('fake-camera', { grant: true });
    await p.make('a', { mediaConstraints: { video: true, audio: false } });
    await p.waitFor('a', 'initialized');
    assert.deepEqual(await p.errorsOf('a'), []);
  });
});

// ------------------------------------------------------------------ NotSupportedError

test('NotSupportedError: a publisher on a plain-http, non-local page (tern.test)', { timeout: 40_000 }, async () => {
  await guard('insecure', 'not-supported', async (env) => {
    const p = await env.open('insecure-publisher', { host: 'tern.test' });
    assert.equal(await p.page.evaluate(() => window.isSecureContext), false);
    await p.make('a');
    assert.match(await p.expectError('a', 'NotSupportedError'), /secure pages.*https:\/\//);
    assert.equal(await p.call('a', 'switchDesktopCapture', 'x'), false);
    assert.deepEqual(await p.errorsOf('a'), ['NotSupportedError', 'NotSupportedError']);
  });
});

test('no NotSupportedError on the same page from localhost, nor for a player on tern.test', { timeout: 40_000 }, async () => {
  await guard('insecure', 'not-supported-not', async (env) => {
    const p = await env.open('secure-publisher', { host: 'localhost' });
    await p.make('a');
    await p.waitFor('a', 'initialized');
    const q = await env.open('insecure-player', { host: 'tern.test' });
    await q.make('b', { isPlayMode: true });
    await q.waitFor('b', 'initialized');
    await sleep(300);
    assert.deepEqual(await p.errorsOf('a'), []);
    assert.deepEqual(await q.errorsOf('b'), []);
  });
});

// ------------------------------------------------------------------ screen_share_stopped

/** A tab titled SHARE_TITLE (the one Chromium picks) and a publisher with camera permission. */
async function sharingSetup(env, label) {
  const target = await env.openUrl(env.web.pageUrl('tern-sdk.html', { ws: env.wsUrl() }), `${label}-target`);
  await target.page.evaluate((t) => { document.title = t; }, SHARE_TITLE);
  // The sharer is a tab of the same browser context, allowed to use the camera and to capture.
  await target.context.grantPermissions(['camera', 'microphone']);
  const sharer = await openTernPageInContext(target.context, env.pageUrl('tern-sdk.html', { displayCapture: 'allow' }), `${label}-sharer`);
  env.pages.push(sharer);
  await sharer.make('a');
  await sharer.waitFor('a', 'initialized');
  const id = uniqueStreamId('share');
  await sharer.call('a', 'publish', id);
  await sharer.waitFor('a', 'publish_started');
  return { target, sharer, id };
}

const videoLabel = async (p) => (await p.page.evaluate(() => window.localTracks('a'))).find((t) => t.kind === 'video');

test('screen_share_stopped: the shared tab closes, the display track ends, the camera comes back', { timeout: 60_000 }, async () => {
  await guard('tabCapture', 'screen-stopped', async (env) => {
    const { target, sharer } = await sharingSetup(env, 'stopped');
    assert.equal(await sharer.call('a', 'switchDesktopCapture', 'x'), true);
    assert.match((await videoLabel(sharer)).label, /web-contents-media-stream/, 'a browser tab is being shared');
    await target.page.close();
    const msg = await sharer.expectError('a', 'screen_share_stopped', { timeoutMs: 10_000 });
    assert.match(msg, /camera is switched back on/);
    await sharer.waitFor('a', 'screen_share_stopped', { kind: 'callback' });
    await waitUntil(async () => {
      const v = await videoLabel(sharer);
      return v && v.readyState === 'live' && !/web-contents|screen/.test(v.label) ? v : null;
    }, { timeoutMs: 10_000, what: 'the camera to be sent again' });
    assert.deepEqual(await sharer.errorsOf('a'), ['screen_share_stopped']);
  });
});

test('no screen_share_stopped when the app switches back to the camera before the tab closes', { timeout: 60_000 }, async () => {
  await guard('tabCapture', 'screen-stopped-not', async (env) => {
    const { target, sharer, id } = await sharingSetup(env, 'not-stopped');
    assert.equal(await sharer.call('a', 'switchDesktopCapture', id), true);
    assert.equal(await sharer.call('a', 'switchVideoCameraCapture', id), true);
    await target.page.close();
    await sleep(1500);
    assert.deepEqual(await sharer.errorsOf('a'), []);
    const names = (await sharer.eventsOf('a')).map((e) => e.name);
    assert.ok(!names.includes('screen_share_stopped'), `events: ${names}`);
  });
});
