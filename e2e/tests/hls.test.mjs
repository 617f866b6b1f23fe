// HLS (issue #17): an app with hlsMuxingEnabled serves each H.264 stream the official SDK publishes as fMP4 HLS at
// /{App}/streams/{id}.m3u8; hls.js (npm) in Chromium plays it from another origin and keeps playing for 20 s. A VP8
// stream gets no HLS (HLS carries H.264 without transcoding); an app that allows both codecs answers publishers
// with H.264 first, so their streams get HLS. Low-latency HLS (llHlsEnabled) lists ~200 ms parts and a preload
// hint, holds blocking playlist reloads and hinted parts until they exist, and hls.js in low-latency mode plays it
// under 3 s behind the live edge. An EVENT playlist lists every segment from the start (older ones from disk), and
// with deleteHLSFilesOnEnded off the ended stream stays as an HLS VoD that FFmpeg reads whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitUntil, sleep } from '../lib/poll.mjs';

let env;

before(async () => {
  env = await startTestEnv({
    configToml: '[apps.HlsApp]\nvp8Enabled = false\nh264Enabled = true\nhlsMuxingEnabled = true\nhlsTime = 1\nhlsListSize = 4\n'
      + '[apps.HlsVp8]\nh264Enabled = false\nhlsMuxingEnabled = true\n'
      + '[apps.HlsBoth]\nhlsMuxingEnabled = true\n'
      + '[apps.HlsKeep]\nvp8Enabled = false\nh264Enabled = true\nhlsMuxingEnabled = true\nhlsTime = 1\nhlsListSize = 2\n'
      + 'hlsPlayListType = "event"\ndeleteHLSFilesOnEnded = false\n'
      + '[apps.LlHls]\nvp8Enabled = false\nh264Enabled = true\nhlsMuxingEnabled = true\nllHlsEnabled = true\nhlsTime = 1\nhlsListSize = 4\n',
  });
});
after(async () => { await env?.close(); });

const playlistUrl = (app, id) => `${env.server.baseUrl()}/${app}/streams/${id}.m3u8`;

/** The playlist at `url` once it lists `segments` segments (waits at most `timeoutMs`). */
async function playlistWith(url, segments, timeoutMs) {
  let text = '';
  await waitUntil(async () => {
    const res = await fetch(url);
    text = res.status === 200 ? await res.text() : '';
    return (text.match(/#EXTINF/g) ?? []).length >= segments;
  }, { timeoutMs, what: `${segments} segments in ${url}` });
  return text;
}

test('hls.js plays a live H.264 stream\'s HLS and keeps playing for 20 s', { timeout: 120_000 }, async (t) => {
  await env.guard('hls-live', async () => {
    const id = uniqueStreamId('hls');
    const publisher = await env.publisher(id, { app: 'HlsApp' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const text = await playlistWith(playlistUrl('HlsApp', id), 2, 20_000);
    t.diagnostic(`playlist:\n${text}`);
    assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:7\n/);
    assert.match(text, new RegExp(`#EXT-X-MAP:URI="${id}_init.mp4"`));
    const durations = [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    assert.ok(durations.every((d) => d > 0 && d < 4), `segment durations ${durations} for hlsTime 1`);
    const seg = await fetch(`${env.server.baseUrl()}/HlsApp/streams/${text.match(/\n(\S+\.m4s)\n/)[1]}`);
    assert.equal(seg.status, 200);
    assert.equal(seg.headers.get('content-type'), 'video/mp4');

    // The page comes from another origin than Tern's, as a web player on another site would.
    const viewer = await env.open('hls.html', { id, label: 'hls.js', src: playlistUrl('HlsApp', id) });
    const read = () => viewer.page.evaluate(() => ({ ...window.playback(), state: window.hlsState }));
    await waitUntil(async () => (await read()).currentTime > 0.5, { timeoutMs: 20_000, what: 'hls.js playing' });
    const first = await read();
    // The viewer counts in REST while it fetches segments.
    let stats = null;
    await waitUntil(async () => {
      stats = await (await fetch(`${env.server.baseUrl()}/HlsApp/rest/v2/broadcasts/${id}/broadcast-statistics`)).json();
      return stats.totalHLSWatchersCount === 1;
    }, { timeoutMs: 10_000, what: 'totalHLSWatchersCount 1' }).catch(() => {});
    assert.equal(stats?.totalHLSWatchersCount, 1, JSON.stringify(stats));
    const b = await (await fetch(`${env.server.baseUrl()}/HlsApp/rest/v2/broadcasts/${id}`)).json();
    assert.equal(b.hlsViewerCount, 1);
    await sleep(20_000);
    const last = await read();
    t.diagnostic(`hls.js after 20 s: ${JSON.stringify(last)}`);
    assert.equal(last.state.fatal, null, `no fatal hls.js error: ${JSON.stringify(last.state.errors)}`);
    assert.ok(last.currentTime - first.currentTime >= 15, `played ${last.currentTime - first.currentTime} s of 20`);
    assert.equal(last.width, 640);
    assert.ok(last.decoded > first.decoded + 100, `frames decoded ${first.decoded} → ${last.decoded}`);
  });
});

test('low-latency HLS: parts, a preload hint, blocking reload; hls.js in low-latency mode plays under 3 s behind', { timeout: 120_000 }, async (t) => {
  await env.guard('hls-low-latency', async () => {
    const id = uniqueStreamId('llhls');
    const publisher = await env.publisher(id, { app: 'LlHls' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const url = playlistUrl('LlHls', id);
    const text = await playlistWith(url, 2, 20_000);
    t.diagnostic(`playlist:\n${text}`);
    assert.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=[\d.]+\n/);
    assert.match(text, /#EXT-X-PART-INF:PART-TARGET=0\.250\n/);
    const parts = [...text.matchAll(/#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"/g)];
    assert.ok(parts.length >= 3, `parts listed: ${parts.length}`);
    assert.ok(parts.every((m) => Number(m[1]) > 0 && Number(m[1]) <= 0.25), `part durations ${parts.map((m) => m[1])}`);
    assert.match(text, /,INDEPENDENT=YES\n/);
    // The hinted part does not exist yet: a blocking reload for it, and the part itself, wait until it does.
    const [, msn, part] = text.match(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]+_(\d+)\.(\d+)\.m4s"/);
    const asked = Date.now();
    const [reload, hinted] = await Promise.all([
      fetch(`${url}?_HLS_msn=${msn}&_HLS_part=${part}`),
      fetch(`${env.server.baseUrl()}/LlHls/streams/${id}_${msn}.${part}.m4s`),
    ]);
    const waited = Date.now() - asked;
    t.diagnostic(`blocking reload and hinted part answered after ${waited} ms`);
    assert.equal(reload.status, 200);
    assert.ok((await reload.text()).includes(`${id}_${msn}.${part}.m4s`), 'the reload lists the part it waited for');
    assert.equal(hinted.status, 200);
    assert.equal(hinted.headers.get('content-type'), 'video/mp4');
    assert.ok((await hinted.arrayBuffer()).byteLength > 100);
    assert.ok(waited < 3000, `waited ${waited} ms`);
    assert.equal((await fetch(`${url}?_HLS_msn=${Number(msn) + 50}`)).status, 400, 'too far ahead');

    const viewer = await env.open('hls.html', { id, label: 'hls.js LL', src: url, lowLatency: '1' });
    const read = () => viewer.page.evaluate(() => ({ ...window.playback(), state: window.hlsState }));
    await waitUntil(async () => (await read()).currentTime > 0.5, { timeoutMs: 20_000, what: 'hls.js playing' });
    const first = await read();
    const latencies = [];
    for (let i = 0; i < 20; i++) {
      await sleep(1000);
      latencies.push((await read()).latency);
    }
    const last = await read();
    t.diagnostic(`hls.js low-latency after 20 s: ${JSON.stringify(last)}; latency each second: ${latencies.map((l) => l?.toFixed(2)).join(' ')}`);
    assert.equal(last.state.fatal, null, `no fatal hls.js error: ${JSON.stringify(last.state.errors)}`);
    assert.ok(last.currentTime - first.currentTime >= 15, `played ${last.currentTime - first.currentTime} s of 20`);
    const settled = latencies.slice(5).sort((a, b) => a - b);
    const median = settled[settled.length >> 1];
    assert.ok(median > 0 && median < 3, `hls.latency median ${median} s`);
  });
});

test('hlsPlayListType event lists every segment from the start; with deleteHLSFilesOnEnded off the ended stream stays an HLS VoD', { timeout: 120_000 }, async (t) => {
  await env.guard('hls-event-vod', async () => {
    const id = uniqueStreamId('hlskeep');
    const publisher = await env.publisher(id, { app: 'HlsKeep' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    const url = playlistUrl('HlsKeep', id);
    const text = await playlistWith(url, 6, 30_000);
    assert.match(text, /#EXT-X-PLAYLIST-TYPE:EVENT\n/);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/);
    // hlsListSize 2: the first segment left memory long ago and comes from disk.
    const first = await fetch(`${env.server.baseUrl()}/HlsKeep/streams/${id}_0.m4s`);
    assert.equal(first.status, 200);
    assert.ok((await first.arrayBuffer()).byteLength > 1000);
    const started = Date.now();
    await sleep(3000);
    await publisher.page.evaluate(() => window.stopPublishing());
    let vod = '';
    await waitUntil(async () => {
      const res = await fetch(url);
      vod = res.status === 200 ? await res.text() : '';
      return vod.includes('#EXT-X-ENDLIST');
    }, { timeoutMs: 15_000, what: 'the VoD playlist' });
    t.diagnostic(`VoD playlist:\n${vod}`);
    assert.match(vod, /#EXT-X-PLAYLIST-TYPE:VOD\n/);
    const run = promisify(execFile);
    const probe = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', url])).stdout);
    // The encoder's time base as the input's, as the recording tests do: the default (1/frame rate) makes two
    // frames of a variable-rate stream that fall in one frame slot an error of the null muxer, not of the file.
    const decode = await run('ffmpeg', ['-v', 'error', '-i', url, '-enc_time_base', '-1', '-f', 'null', '-']);
    t.diagnostic(`ffprobe: ${JSON.stringify(probe)}`);
    assert.ok(probe.streams.some((x) => x.codec_name === 'h264'));
    assert.ok(Number(probe.format.duration) >= 6, `VoD duration ${probe.format.duration} (published ${(Date.now() - started) / 1000 + 6} s or so)`);
    assert.equal(decode.stderr.trim(), '', 'ffmpeg decodes the HLS VoD whole');
  });
});

test('a VP8 stream gets no HLS (no transcoding), and the log says why', { timeout: 60_000 }, async () => {
  await env.guard('hls-vp8', async () => {
    const id = uniqueStreamId('hlsvp8');
    const publisher = await env.publisher(id, { app: 'HlsVp8' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitUntil(() => env.server.stderr().includes(`no HLS for this stream: it is VP8`), { timeoutMs: 10_000, what: 'the VP8 warning' });
    assert.equal((await fetch(playlistUrl('HlsVp8', id))).status, 404);
  });
});

test('an app with HLS and both codecs answers the publisher with H.264 first, so its stream gets HLS', { timeout: 60_000 }, async () => {
  await env.guard('hls-prefers-h264', async () => {
    const id = uniqueStreamId('hlsboth');
    const publisher = await env.publisher(id, { app: 'HlsBoth' });
    await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitUntil(async () => {
      const r = await env.server.rest('GET', `/broadcasts/${id}/stream-info`, undefined, 'HlsBoth');
      return r.status === 200 && r.json?.[0]?.videoCodec === 'H264';
    }, { timeoutMs: 10_000, what: 'the publisher sending H.264' });
    await waitUntil(async () => {
      const res = await fetch(playlistUrl('HlsBoth', id));
      return res.status === 200 && /#EXTINF/.test(await res.text());
    }, { timeoutMs: 20_000, what: 'an HLS playlist with a segment' });
  });
});
