// Recording (issue #17): an app with mp4MuxingEnabled records what the official SDK publishes (H.264 and Opus,
// not transcoded); one with webMMuxingEnabled records VP8 streams as WebM too. After the publisher stops, the recording is a VoD in REST, served at /{App}/streams/{file}
// with range requests, and Debian's ffprobe/ffmpeg find both streams, the right duration, and decode every frame.
// REST deletes it with its file; recording/true|false switches a live stream's recording.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { startTern } from '../lib/tern-server.mjs';
import { openParticipant } from '../lib/participant.mjs';
import { waitUntil, sleep } from '../lib/poll.mjs';

const run = promisify(execFile);
let env;
let scratch;
let hookServer;
const hooks = [];

before(async () => {
  // The app's webhook receiver: vodReady comes when a recording lands.
  hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { hooks.push(JSON.parse(body)); res.end('ok'); });
  });
  await new Promise((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${hookServer.address().port}/hook`;
  env = await startTestEnv({
    configToml: `[apps.RecApp]\nvp8Enabled = false\nh264Enabled = true\nmp4MuxingEnabled = true\nlistenerHookURL = "${hookUrl}"\n`
      + '[apps.OnDemand]\nvp8Enabled = false\nh264Enabled = true\n'
      + '[apps.RecVp8]\nmp4MuxingEnabled = true\nwebMMuxingEnabled = true\n',
  });
  scratch = await mkdtemp(path.join(tmpdir(), 'tern-rec-'));
});
after(async () => {
  await env?.close();
  hookServer?.close();
  if (scratch && !process.env.KEEP_REC) await rm(scratch, { recursive: true, force: true });
});

const rest = (app, p, init) => fetch(`${env.server.baseUrl()}/${app}/rest/v2/${p}`, init);

async function vodOf(app, id) {
  let vod = null;
  await waitUntil(async () => {
    const list = await (await rest(app, 'vods/list/0/50')).json();
    vod = list.find((v) => v.streamId === id) ?? null;
    return vod != null;
  }, { timeoutMs: 20_000, what: `the VoD of ${id} in REST` });
  return vod;
}

/** ffprobe's codec names and duration of a file, and ffmpeg's decode errors. */
async function inspect(file) {
  const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', file]);
  const j = JSON.parse(probe.stdout);
  // The null output keeps the input's time base (-enc_time_base -1): by default it rounds times to the guessed
  // frame rate, and WebRTC's variable frame rate then gives two frames one time there, which it reports as an
  // error of its own muxing. Decoding errors are reported either way.
  const decode = await run('ffmpeg', ['-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-']);
  return { codecs: j.streams.map((s) => s.codec_name), duration: Number(j.format.duration), errors: decode.stderr.trim() };
}

async function download(app, name) {
  const res = await fetch(`${env.server.baseUrl()}/${app}/streams/${name}`);
  assert.equal(res.status, 200, `GET /${app}/streams/${name}`);
  const file = path.join(scratch, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

test('mp4MuxingEnabled: the published H.264 and Opus become a fast-start MP4 VoD that FFmpeg decodes whole', { timeout: 90_000 }, async (t) => {
  await env.guard('recording-mp4', async () => {
    const id = uniqueStreamId('rec');
    const publisher = await env.publisher(id, { app: 'RecApp' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const started = Date.now();
    await sleep(6000);
    await publisher.page.evaluate(() => window.stopPublishing());
    const published = (Date.now() - started) / 1000;
    const vod = await vodOf('RecApp', id);
    t.diagnostic(`VoD: ${JSON.stringify(vod)}; published ${published.toFixed(1)} s`);
    assert.equal(vod.vodName, `${id}.mp4`);
    assert.equal(vod.filePath, `streams/${id}.mp4`);
    assert.equal(vod.type, 'streamVod');
    assert.ok(vod.fileSize > 10_000, `fileSize ${vod.fileSize}`);
    assert.ok(Math.abs(vod.duration / 1000 - published) <= 1.5, `duration ${vod.duration} ms for ${published} s published`);
    assert.deepEqual(await (await rest('RecApp', `vods/${vod.vodId}`)).json(), vod);
    let ready = null;
    await waitUntil(() => (ready = hooks.find((h) => h.action === 'vodReady' && h.id === id)) != null,
      { timeoutMs: 10_000, what: 'the vodReady webhook' });
    assert.equal(ready.vodName, id, 'vodName without .mp4, as Ant Media sends it');
    assert.equal(ready.vodId, vod.vodId);
    assert.equal(hooks.filter((h) => h.action === 'vodReady' && h.id === id).length, 1);

    const file = await download('RecApp', vod.vodName);
    const seen = await inspect(file);
    t.diagnostic(`ffprobe: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.codecs.sort(), ['h264', 'opus']);
    assert.ok(Math.abs(seen.duration - published) <= 1.5, `ffprobe duration ${seen.duration} for ${published} s published`);
    assert.equal(seen.errors, '', 'ffmpeg decodes every frame without an error');

    // Range requests, as players seek.
    const part = await fetch(`${env.server.baseUrl()}/RecApp/streams/${vod.vodName}`, { headers: { range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.equal((await part.arrayBuffer()).byteLength, 100);
    const past = await fetch(`${env.server.baseUrl()}/RecApp/streams/${vod.vodName}`, { headers: { range: `bytes=${vod.fileSize + 10}-` } });
    assert.equal(past.status, 416);
    assert.equal((await fetch(`${env.server.baseUrl()}/RecApp/streams/..%2Ftern.db`)).status, 404);

    const count = async () => (await (await rest('RecApp', 'vods/count')).json()).number;
    const before = await count();
    assert.equal((await rest('RecApp', `vods/${vod.vodId}`, { method: 'DELETE' })).status, 200);
    assert.equal(await count(), before - 1);
    assert.equal((await fetch(`${env.server.baseUrl()}/RecApp/streams/${vod.vodName}`)).status, 404, 'the file is gone');
  });
});

test('a VP8 stream is recorded as VP8 and Opus in MP4 and in WebM (webMMuxingEnabled), which FFmpeg decodes whole', { timeout: 90_000 }, async (t) => {
  await env.guard('recording-vp8', async () => {
    const id = uniqueStreamId('recvp8');
    const publisher = await env.publisher(id, { app: 'RecVp8' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    await sleep(4000);
    await publisher.page.evaluate(() => window.stopPublishing());
    let vods = [];
    await waitUntil(async () => {
      vods = (await (await rest('RecVp8', 'vods/list/0/50')).json()).filter((v) => v.streamId === id);
      return vods.length === 2;
    }, { timeoutMs: 20_000, what: `an MP4 and a WebM VoD of ${id}` });
    assert.deepEqual(vods.map((v) => v.vodName).sort(), [`${id}.mp4`, `${id}.webm`]);
    for (const vod of vods) {
      const seen = await inspect(await download('RecVp8', vod.vodName));
      t.diagnostic(`${vod.vodName}: ${JSON.stringify(seen)}; VoD duration ${vod.duration} ms`);
      assert.deepEqual(seen.codecs.sort(), ['opus', 'vp8']);
      assert.ok(seen.duration >= 3 && seen.duration <= 5.5, `${vod.vodName}: duration ${seen.duration}`);
      assert.ok(Math.abs(seen.duration * 1000 - vod.duration) <= 500, `${vod.vodName}: REST duration ${vod.duration}`);
      assert.equal(seen.errors, '');
    }
  });
});

test('recording/true starts a live stream\'s recording, recording/false ends it with a playable file', { timeout: 90_000 }, async (t) => {
  await env.guard('recording-on-demand', async () => {
    const id = uniqueStreamId('ondemand');
    const publisher = await env.publisher(id, { app: 'OnDemand' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    await sleep(1000);
    assert.equal((await (await rest('OnDemand', 'vods/count')).json()).number, 0, 'nothing recorded without the setting');
    const on = await (await rest('OnDemand', `broadcasts/${id}/recording/true?recordType=mp4`, { method: 'PUT' })).json();
    assert.equal(on.success, true);
    assert.equal(on.message, 'recording started');
    const flv = await rest('OnDemand', `broadcasts/${id}/recording/true?recordType=flv`, { method: 'PUT' });
    assert.equal(flv.status, 400);
    // WebM carries no H.264: switched on, it records nothing and says why in the log.
    const webm = await rest('OnDemand', `broadcasts/${id}/recording/true?recordType=webm`, { method: 'PUT' });
    assert.equal(webm.status, 200);
    await waitUntil(() => /WebM carries VP8, not H\.264/.test(env.server.stderr()), { timeoutMs: 10_000, what: 'the WebM refusal in the log' });
    await sleep(4000);
    const off = await (await rest('OnDemand', `broadcasts/${id}/recording/false`, { method: 'PUT' })).json();
    assert.equal(off.message, 'recording stopped');
    const vod = await vodOf('OnDemand', id);
    t.diagnostic(`VoD: ${JSON.stringify(vod)}`);
    assert.equal(vod.vodName, `${id}.mp4`);
    assert.ok(vod.duration >= 3000 && vod.duration <= 5500, `duration ${vod.duration} ms of a 4 s recording`);
    const seen = await inspect(await download('OnDemand', vod.vodName));
    assert.deepEqual(seen.codecs.sort(), ['h264', 'opus']);
    assert.equal(seen.errors, '');
    // The stream itself went on.
    assert.deepEqual((await publisher.events()).filter((e) => e.name === 'publish_finished'), []);
    const unknown = await rest('OnDemand', 'broadcasts/nope/recording/true', { method: 'PUT' });
    assert.equal(unknown.status, 404);
  });
});

test('a server stopped with SIGTERM finishes the recordings it was making: fast-start files and VoDs', { timeout: 90_000 }, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tern-rec-term-'));
  const other = await startTern({ dataDir, configToml: '[apps.RecApp]\nvp8Enabled = false\nh264Enabled = true\nmp4MuxingEnabled = true\n' });
  let pub = null;
  try {
    const id = uniqueStreamId('term');
    pub = await openParticipant(env.browser, env.web.pageUrl('publish.html', { ws: other.wsUrl('RecApp'), id }), 'publisher (SIGTERM)');
    await pub.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    await sleep(4000);
    other.kill('SIGTERM');
    const exit = await other.waitExit(30_000);
    assert.equal(exit?.code, 0, `exit ${JSON.stringify(exit)}`);
    const dir = path.join(dataDir, 'RecApp', 'streams');
    const seen = await inspect(path.join(dir, `${id}.mp4`));
    t.diagnostic(`after SIGTERM: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.codecs.sort(), ['h264', 'opus']);
    assert.ok(seen.duration >= 3, `duration ${seen.duration}`);
    assert.equal(seen.errors, '');
    await assert.rejects(() => run('ls', [path.join(dir, `${id}.mp4.part`)]), 'no .part left');
    assert.match(other.stderr(), /recording finished/);
  } finally {
    await pub?.close();
    await other.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

// Last in this file: it kills the server.
test('kill -9 during a recording: the .part file on disk plays up to within about a second of the kill', { timeout: 90_000 }, async (t) => {
  await env.guard('recording-kill', async () => {
    const id = uniqueStreamId('killed');
    const publisher = await env.publisher(id, { app: 'RecApp' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const started = Date.now();
    await sleep(5000);
    env.server.kill('SIGKILL');
    const published = (Date.now() - started) / 1000;
    assert.equal((await env.server.waitExit(5000))?.signal, 'SIGKILL');
    const part = path.join(env.server.dataDir, 'RecApp', 'streams', `${id}.mp4.part`);
    const seen = await inspect(part).catch((e) => ({ error: String(e) }));
    t.diagnostic(`after kill -9 at ${published.toFixed(1)} s: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.codecs?.sort(), ['h264', 'opus']);
    assert.ok(seen.duration >= published - 1.5, `${seen.duration} s on disk of ${published} s published`);

    // The next start keeps it as the recording, with its VoD record.
    const again = await startTern({ dataDir: env.server.dataDir, configToml: '[apps.RecApp]\nmp4MuxingEnabled = true\n' });
    try {
      const list = await (await fetch(`${again.baseUrl()}/RecApp/rest/v2/vods/list/0/50`)).json();
      const vod = list.find((v) => v.vodName === `${id}.mp4`);
      t.diagnostic(`after restart: ${JSON.stringify(vod)}`);
      assert.ok(vod, `a VoD for ${id}.mp4 in ${JSON.stringify(list)}`);
      assert.ok(Math.abs(vod.duration / 1000 - seen.duration) <= 0.5, `VoD duration ${vod.duration} ms, ffprobe ${seen.duration} s`);
      const res = await fetch(`${again.baseUrl()}/RecApp/streams/${id}.mp4`);
      assert.equal(res.status, 200);
      const file = path.join(scratch, `${id}-recovered.mp4`);
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      const kept = await inspect(file);
      assert.deepEqual(kept.codecs.sort(), ['h264', 'opus']);
      assert.equal(kept.errors, '', 'cut after its last whole fragment: decodes without an error');
    } finally {
      await again.stop();
    }
  });
});
