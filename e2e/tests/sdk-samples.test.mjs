// The sample pages tern serves under /{App}/ (from the repository's sdk/samples via TERN_SDK_DIR):
// the index links them all, each loads with no page error and lists its errors in plain words,
// and each does its job in the browser.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSdkEnv } from '../lib/sdk-env.mjs';
import { uniqueStreamId } from '../lib/test-env.mjs';
import { waitUntil } from '../lib/poll.mjs';

let env;
before(async () => { env = await startSdkEnv(); });
after(async () => { await env?.close(); });
afterEach(async () => { await env.closePages(); });

const SAMPLES = ['publish.html', 'play.html', 'conference.html', 'p2p.html', 'datachannel.html', 'screen_share.html'];

async function openSample(page, params, label) {
  const p = await env.openUrl(env.sampleUrl(page, params), label);
  await p.page.waitForFunction(() => window.sample != null, null, { timeout: 10_000 });
  return p;
}

const click = (p, id) => p.page.click(`#${id}`);
const statusText = (p) => p.page.evaluate(() => document.getElementById('status').textContent);
const waitStatus = (p, re, timeoutMs = 15_000) => waitUntil(async () => re.test(await statusText(p)), { timeoutMs, what: `${p.label} status ${re}` })
  .catch(async (e) => { throw new Error(`${e.message}\nstatus:\n${await statusText(p)}`); });
/** Whether a <video> shows decoded frames (size known and time advancing). */
const videoPlays = (p, selector) => waitUntil(async () => p.page.evaluate(async (sel) => {
  const v = document.querySelector(sel);
  if (!v || !v.videoWidth) return false;
  const t0 = v.currentTime;
  await new Promise((r) => setTimeout(r, 300));
  return v.currentTime > t0;
}, selector), { timeoutMs: 15_000, what: `${p.label}: ${selector} playing` });

test('the index links every sample; each loads from tern and lists its errors in plain words', { timeout: 60_000 }, async () => {
  await env.guard('samples-index', async () => {
    const index = await env.openUrl(env.sampleUrl(''), 'index');
    const links = await index.page.evaluate(() => [...document.querySelectorAll('#samples a')].map((a) => a.getAttribute('href')));
    assert.deepEqual(links, SAMPLES);
    for (const page of SAMPLES) {
      const p = await openSample(page, {}, page);
      const rows = await p.page.evaluate(() => [...document.querySelectorAll('#errors > div')].map((d) => ({
        def: d.dataset.definition, words: d.querySelector('dd').textContent,
      })));
      assert.ok(rows.length >= 5, `${page} lists ${rows.length} errors`);
      for (const r of rows) {
        assert.ok(r.words.length > 15 && !/The server reported/.test(r.words), `${page}: no plain words for ${r.def}: ${r.words}`);
      }
      await waitUntil(() => p.page.evaluate(() => window.sample.adaptor == null || window.sample.adaptor.signaling?.isOpen),
        { timeoutMs: 10_000, what: `${page} connected` });
      assert.deepEqual(p.pageErrors, [], `${page}: page errors`);
      assert.ok(!p.consoleLines.some((l) => l.startsWith('[error]')), `${page}: console errors ${p.consoleLines}`);
    }
  });
});

test('publish and play samples: the camera goes out and plays on the other page', { timeout: 60_000 }, async () => {
  await env.guard('samples-publish-play', async () => {
    const id = uniqueStreamId('sample');
    const pub = await openSample('publish.html', { id }, 'publish-sample');
    await pub.page.waitForSelector('#start:not([disabled])');
    await click(pub, 'start');
    await waitStatus(pub, new RegExp(`publishing ${id}`));
    const ply = await openSample('play.html', { id, autoplay: 1 }, 'play-sample');
    await waitStatus(ply, new RegExp(`playing ${id}`));
    await videoPlays(ply, '#remoteVideo');
    // The microphone button raises AudioAlreadyActive, shown in plain words.
    await click(pub, 'startAudio');
    await pub.page.waitForSelector('#banner.shown');
    const banner = await pub.page.textContent('#banner');
    assert.match(banner, /AudioAlreadyActive/);
    assert.match(banner, /microphone track is already live/);
    assert.equal(await pub.page.getAttribute('#errors > div[data-definition="AudioAlreadyActive"]', 'class'), 'raised');
    await click(pub, 'stop');
    await waitStatus(ply, new RegExp(`${id} ended`));
  });
});

test('play sample: a stream that is not live is explained, and plays once it is', { timeout: 60_000 }, async () => {
  await env.guard('samples-not-live', async () => {
    const id = uniqueStreamId('later');
    const ply = await openSample('play.html', { id, autoplay: 1 }, 'play-sample-early');
    await ply.page.waitForSelector('#banner.shown');
    assert.match(await ply.page.textContent('#banner'), /no_stream_exist.*not live\. Playback starts by itself/s);
    const pub = await openSample('publish.html', { id }, 'publish-sample-late');
    await pub.page.waitForSelector('#start:not([disabled])');
    await click(pub, 'start');
    await videoPlays(ply, '#remoteVideo');
  });
});

test('screen share sample: share the screen, with the camera, and back', { timeout: 60_000 }, async () => {
  await env.guard('samples-screen', async () => {
    const p = await openSample('screen_share.html', { id: uniqueStreamId('scr') }, 'screen-sample');
    await p.page.waitForSelector('#start:not([disabled])');
    await click(p, 'start');
    await p.page.waitForSelector('#share:not([disabled])', { timeout: 15_000 });
    await click(p, 'share');
    await waitStatus(p, /sharing the screen\n/);
    await click(p, 'shareWithCamera');
    await waitStatus(p, /sharing the screen with the camera/);
    await click(p, 'camera');
    await waitStatus(p, /back to the camera/);
    assert.deepEqual(await p.page.evaluate(() => window.sample.board.raised), []);
  });
});

test('data-channel chat sample: messages go both ways', { timeout: 60_000 }, async () => {
  await env.guard('samples-chat', async () => {
    const chat = uniqueStreamId('chat');
    const host = await openSample('datachannel.html', { id: chat, nick: 'host' }, 'chat-host');
    await click(host, 'open');
    await waitStatus(host, /is open/);
    const guest = await openSample('datachannel.html', { id: chat, nick: 'guest' }, 'chat-guest');
    await click(guest, 'joinChat');
    await waitStatus(guest, /is open/);
    const say = async (p, text) => {
      await p.page.fill('#text', text);
      await p.page.click('#send');
    };
    const chatText = (p) => p.page.textContent('#chat');
    await say(guest, 'hello from the guest');
    await waitUntil(async () => (await chatText(host)).includes('guest: hello from the guest'), { timeoutMs: 10_000, what: 'host sees the guest' });
    await say(host, 'hello from the host');
    await waitUntil(async () => (await chatText(guest)).includes('host: hello from the host'), { timeoutMs: 10_000, what: 'guest sees the host' });
  });
});

test('peer-to-peer sample: two pages call each other', { timeout: 60_000 }, async () => {
  await env.guard('samples-p2p', async () => {
    const call = uniqueStreamId('call');
    const a = await openSample('p2p.html', { id: call }, 'p2p-a');
    const b = await openSample('p2p.html', { id: call }, 'p2p-b');
    for (const p of [a, b]) {
      await p.page.waitForSelector('#join:not([disabled])');
      await click(p, 'join');
    }
    await videoPlays(a, '#remoteVideo');
    await videoPlays(b, '#remoteVideo');
    await b.page.waitForSelector('#hello:not([disabled])');
    await click(b, 'hello');
    await waitStatus(a, /the other side says: "hello at/);
    await waitStatus(a, /data channel: hello over the data channel/);
  });
});

test('conference sample: two participants see each other', { timeout: 60_000 }, async () => {
  await env.guard('samples-conference', async () => {
    const room = uniqueStreamId('room');
    const a = await openSample('conference.html', { room, name: 'ann' }, 'conf-ann');
    const b = await openSample('conference.html', { room, name: 'bob' }, 'conf-bob');
    for (const p of [a, b]) {
      await p.page.waitForSelector('#join:not([disabled])');
      await click(p, 'join');
      await waitStatus(p, /you are on air/);
    }
    for (const [p, other] of [[a, 'bob_'], [b, 'ann_']]) {
      await waitUntil(async () => (await p.page.evaluate(() => window.sample.participants())).some((x) => x.startsWith(other)),
        { timeoutMs: 15_000, what: `${p.label} sees ${other}` });
      await videoPlays(p, `#participants .tile[data-participant^="${other}"] video`);
    }
    await click(b, 'leave');
    await waitUntil(async () => (await a.page.evaluate(() => window.sample.participants())).length === 0,
      { timeoutMs: 15_000, what: 'ann sees bob leave' });
  });
});
