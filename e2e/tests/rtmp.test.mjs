// RTMP ingest (issue #16): Debian's ffmpeg pushes H.264 (no B-frames) and AAC over RTMP, as OBS would; official-SDK
// players in Chromium decode the video and receive the audio (transcoded to Opus). A player that joins mid-GOP
// (10 s keyframe interval) starts at once from the kept group of pictures. Tokens hold as for WebRTC publishers;
// B-frames are reported; a publisher killed and restarted inside the restore window keeps its players playing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { waitForFirstFrame, assertMediaFlowing } from '../lib/media-checks.mjs';
import { waitUntil, sleep } from '../lib/poll.mjs';

let env;
const encoders = [];

before(async () => {
  env = await startTestEnv({
    ternOpts: { rtmpAddr: '127.0.0.1:0', srtAddr: '127.0.0.1:0' },
    configToml: '[apps.Tokens]\npublishTokenControlEnabled = true\n'
      + '[apps.RtmpRec]\nmp4MuxingEnabled = true\nhlsMuxingEnabled = true\n',
  });
  assert.ok(env.server.rtmpPort, 'the ready line names the RTMP port');
  assert.ok(env.server.srtPort, 'the ready line names the SRT port');
});
after(async () => {
  for (const e of encoders) e.kill('SIGKILL');
  await env?.close();
});

/** Debian's ffmpeg with `args`, killed after the file's tests; `exited` resolves to its exit code, `log()` is its stderr. */
function spawnEncoder(args) {
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.log = () => stderr;
  encoders.push(child);
  return child;
}

/** ffmpeg pushing a test pattern and a tone to `app`/`key`; resolves to the child (its exit is `exited`). */
function push(app, key, { gop = 300, bframes = 0, video = true, audio = true } = {}) {
  const url = `rtmp://127.0.0.1:${env.server.rtmpPort}/${app}/${key}`;
  const args = ['-hide_banner', '-loglevel', 'warning', '-re'];
  if (video) args.push('-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30');
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');
  if (video) {
    args.push('-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', String(bframes), '-b:v', '600k');
  }
  if (audio) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push('-f', 'flv', url);
  return spawnEncoder(args);
}

/** ffmpeg pushing a white flash and a 1 kHz beep, both 100 ms long at the start of every second. */
function pushFlashBeep(app, key) {
  const url = `rtmp://127.0.0.1:${env.server.rtmpPort}/${app}/${key}`;
  const args = ['-hide_banner', '-loglevel', 'warning', '-re',
    '-f', 'lavfi', '-i', "color=c=black:s=320x240:r=30,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'",
    '-f', 'lavfi', '-i', "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.8*sin(2*PI*1000*t)\\,0)':s=44100",
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-bf', '0',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url];
  return spawnEncoder(args);
}

/**
 * In a player page, for `ms`: when each flash was shown (requestVideoFrameCallback's display time of the first
 * bright frame) and when each beep was played out (the first loud sample of the remote audio as it enters a Web
 * Audio graph), both on the page's performance clock. The graph's own output buffer (~40 ms in headless Chromium)
 * is left out: it belongs to this measuring path, which the page's played audio does not go through.
 */
function flashesAndBeeps(player, ms) {
  return player.page.evaluate(async (ms) => {
    const video = document.getElementById('remoteVideo');
    const ac = new AudioContext();
    await ac.resume();
    const src = ac.createMediaStreamSource(video.srcObject);
    const proc = ac.createScriptProcessor(256, 1, 1);
    const sink = ac.createGain();
    sink.gain.value = 0;
    src.connect(proc); proc.connect(sink); sink.connect(ac.destination);
    const beeps = [];
    let quietSince = 0;
    const outputLag = [];
    proc.onaudioprocess = (e) => {
      const x = e.inputBuffer.getChannelData(0);
      // The graph renders context time `currentTime` now; its output plays it later.
      const stamp = ac.getOutputTimestamp();
      outputLag.push((ac.currentTime - stamp.contextTime) * 1000);
      const toPerf = (t) => performance.now() + (t - ac.currentTime) * 1000;
      // The input buffer is the one rendered before the output buffer that plays at playbackTime.
      const from = e.playbackTime - 2 * x.length / ac.sampleRate;
      for (let i = 0; i < x.length; i++) {
        const t = from + i / ac.sampleRate;
        if (Math.abs(x[i]) > 0.2) {
          if (t - quietSince > 0.5) beeps.push(toPerf(t));
          quietSince = t;
        }
      }
    };
    const canvas = document.createElement('canvas');
    canvas.width = 16; canvas.height = 16;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    const flashes = [];
    let bright = false;
    const until = performance.now() + ms;
    await new Promise((resolve) => {
      const onFrame = (now, meta) => {
        g.drawImage(video, 0, 0, 16, 16);
        const px = g.getImageData(8, 8, 1, 1).data;
        const on = px[0] > 128;
        if (on && !bright) flashes.push(meta.expectedDisplayTime ?? now);
        bright = on;
        if (performance.now() < until) video.requestVideoFrameCallback(onFrame); else resolve();
      };
      video.requestVideoFrameCallback(onFrame);
    });
    proc.disconnect();
    await ac.close();
    outputLag.sort((a, b) => a - b);
    return { flashes, beeps, outputLagMs: outputLag[outputLag.length >> 1] };
  }, ms);
}

/**
 * The player's own account of sync, from its receivers' synchronization sources: for audio and for video, the
 * page time at which the last frame was played minus that frame's media time (Tern keeps the FLV clock in the
 * RTP times: 48 and 90 ticks a millisecond). Their difference is how much later audio plays than video of the
 * same instant. Sampled every 100 ms for `ms`.
 */
function playoutOffsets(player, ms) {
  return player.page.evaluate(async (ms) => {
    const pc = window.adaptor.remotePeerConnection[window.streamId];
    const out = [];
    const until = performance.now() + ms;
    while (performance.now() < until) {
      const at = {};
      for (const r of pc.getReceivers()) {
        const s = r.getSynchronizationSources()[0];
        if (!s) continue;
        const hz = r.track.kind === 'audio' ? 48 : 90;
        at[r.track.kind] = (s.timestamp - performance.timeOrigin) - s.rtpTimestamp / hz;
      }
      if (at.audio != null && at.video != null) out.push(at.audio - at.video);
      await new Promise((r) => setTimeout(r, 100));
    }
    return out;
  }, ms);
}

async function broadcast(app, id) {
  const r = await env.server.rest('GET', `/broadcasts/${id}`, undefined, app);
  return r.status === 200 ? r.json : null;
}

test('ffmpeg publishes over RTMP; official-SDK players decode video and audio, a late joiner starts from the kept GOP', { timeout: 90_000 }, async (t) => {
  await env.guard('rtmp-publish', async () => {
    const id = uniqueStreamId('rtmp');
    const ffmpeg = push('LiveApp', id);
    await waitUntil(async () => (await broadcast('LiveApp', id))?.status === 'broadcasting',
      { timeoutMs: 15_000, what: 'the RTMP stream broadcasting in REST' });
    const b = await broadcast('LiveApp', id);
    assert.equal(b.publishType, 'RTMP');
    const player = await env.player(id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(player);
    await assertMediaFlowing(player, { audio: true });
    // Mid-GOP: the keyframe interval is 10 s, the next keyframe is seconds away.
    await sleep(2500);
    const opened = Date.now();
    const late = await env.player(id, 'late');
    await late.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    const playing = Date.now();
    const s = await waitForFirstFrame(late, 6000);
    const firstFrame = Date.now();
    t.diagnostic(`late joiner: page open → play_started ${playing - opened} ms, → first frame ${firstFrame - opened} ms (${s.video.frameWidth}x${s.video.frameHeight})`);
    assert.ok(firstFrame - playing < 1500, `late joiner's first frame ${firstFrame - playing} ms after play_started`);
    await assertMediaFlowing(late, { audio: true });
    assert.equal(ffmpeg.exitCode, null, `ffmpeg still pushing: ${ffmpeg.log()}`);
    ffmpeg.kill('SIGINT');
    await ffmpeg.exited;
  });
});

test('audio and video stay in sync: a beep and a flash made together play within 80 ms of each other', { timeout: 90_000 }, async (t) => {
  await env.guard('rtmp-av-sync', async () => {
    const id = uniqueStreamId('rtmpsync');
    const ffmpeg = pushFlashBeep('LiveApp', id);
    const player = await env.player(id, 'sync');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 20_000 });
    await waitForFirstFrame(player);
    // Chromium starts with its audio jitter buffer ~80 ms deeper than video's and moves video to it in steps of
    // ~20 ms once it has two sender reports of each track (Tern sends them every second): measured after that.
    await sleep(15_000);
    const rtp = await playoutOffsets(player, 2000);
    t.diagnostic(`playout offsets from the receivers (audio - video, ms): ${rtp.map((d) => d.toFixed(0)).join(' ')}`);
    const { flashes, beeps, outputLagMs } = await flashesAndBeeps(player, 8000);
    t.diagnostic(`the measuring graph's output buffer (left out): ${outputLagMs?.toFixed(0)} ms`);
    // Each flash with the beep nearest to it.
    const offsets = flashes.map((f) => beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best) ? b - f : best), Infinity))
      .filter((d) => Math.abs(d) < 500);
    t.diagnostic(`${flashes.length} flashes, ${beeps.length} beeps; audio - video offsets (ms): ${offsets.map((d) => d.toFixed(0)).join(' ')}`);
    assert.ok(offsets.length >= 6, `flashes paired with beeps: ${offsets.length} (flashes ${flashes.length}, beeps ${beeps.length})`);
    for (const d of offsets) assert.ok(Math.abs(d) <= 80, `audio ${d.toFixed(0)} ms from video (offsets ${offsets.map((x) => x.toFixed(0))})`);
    ffmpeg.kill('SIGINT');
    await ffmpeg.exited;
  });
});

test('an RTMP stream is recorded (its H.264 and AAC in MP4, which FFmpeg decodes whole) and served as HLS with its AAC', { timeout: 90_000 }, async (t) => {
  await env.guard('rtmp-record-hls', async () => {
    const id = uniqueStreamId('rtmprec');
    const ffmpeg = push('RtmpRec', id, { gop: 30 });
    const base = env.server.baseUrl();
    let playlist = '';
    await waitUntil(async () => {
      const r = await fetch(`${base}/RtmpRec/streams/${id}.m3u8`);
      playlist = r.status === 200 ? await r.text() : '';
      return /#EXTINF/.test(playlist);
    }, { timeoutMs: 20_000, what: 'an HLS playlist with a segment' });
    const segment = playlist.split('\n').find((l) => l.endsWith('.m4s'));
    const seg = await fetch(`${base}/RtmpRec/streams/${segment}`);
    assert.equal(seg.status, 200, `GET ${segment}`);
    assert.ok((await seg.arrayBuffer()).byteLength > 1000);
    // The init segment's audio sample entry: the encoder's AAC.
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
    assert.ok(map, `an init segment in ${playlist}`);
    const init = Buffer.from(await (await fetch(`${base}/RtmpRec/streams/${map}`)).arrayBuffer());
    assert.ok(init.includes('mp4a') && init.includes('esds'), 'HLS audio is AAC');
    // hls.js plays it, decoding the AAC as well as the video.
    const viewer = await env.open('hls.html', { id, label: 'hls.js', src: `${base}/RtmpRec/streams/${id}.m3u8` });
    const read = () => viewer.page.evaluate(() => ({ ...window.playback(), state: window.hlsState }));
    await waitUntil(async () => {
      const r = await read();
      return r.currentTime > 2 && r.audioBytes > 0 ? r : null;
    }, { timeoutMs: 20_000, what: 'hls.js playing the RTMP stream\'s HLS with sound' });
    const played = await read();
    t.diagnostic(`hls.js: ${JSON.stringify(played)}`);
    assert.equal(played.state.fatal, null, JSON.stringify(played.state.errors));
    assert.match(Object.values(played.state.codecs ?? {}).join(','), /mp4a\.40/);
    await viewer.close();
    ffmpeg.kill('SIGINT');
    await ffmpeg.exited;
    let vod = null;
    await waitUntil(async () => {
      const r = await env.server.rest('GET', '/vods/list/0/50', undefined, 'RtmpRec');
      vod = (r.json ?? []).find((v) => v.streamId === id) ?? null;
      return vod != null;
    }, { timeoutMs: 20_000, what: 'the VoD of the RTMP stream' });
    const dir = await mkdtemp(path.join(tmpdir(), 'tern-rtmp-rec-'));
    try {
      const file = path.join(dir, vod.vodName);
      await writeFile(file, Buffer.from(await (await fetch(`${base}/RtmpRec/streams/${vod.vodName}`)).arrayBuffer()));
      const run = promisify(execFile);
      const probe = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', file])).stdout);
      const decode = await run('ffmpeg', ['-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-']);
      t.diagnostic(`VoD ${vod.vodName}: ${JSON.stringify(probe)}`);
      assert.deepEqual(probe.streams.map((x) => x.codec_name).sort(), ['aac', 'h264']);
      assert.ok(Number(probe.format.duration) >= 3, `duration ${probe.format.duration}`);
      assert.equal(decode.stderr.trim(), '', 'ffmpeg decodes every frame');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('SRT: ffmpeg sends MPEG-TS with Ant Media\'s stream id; a player decodes it; a wrong token is refused', { timeout: 90_000 }, async (t) => {
  await env.guard('srt-publish', async () => {
    const srt = (sid) => {
      const url = `srt://127.0.0.1:${env.server.srtPort}?streamid=${sid}&mode=caller`;
      return spawnEncoder(['-hide_banner', '-loglevel', 'warning', '-re',
        '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-bf', '0',
        '-c:a', 'aac', '-b:a', '96k', '-f', 'mpegts', url]);
    };
    const id = uniqueStreamId('srt');
    const enc = srt(`LiveApp/${id}`);
    await waitUntil(async () => (await broadcast('LiveApp', id))?.status === 'broadcasting',
      { timeoutMs: 15_000, what: 'the SRT stream broadcasting in REST' });
    assert.equal((await broadcast('LiveApp', id)).publishType, 'SRT');
    const player = await env.player(id, 'srt-player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 15_000 });
    await waitForFirstFrame(player);
    await assertMediaFlowing(player, { audio: true });
    enc.kill('SIGINT');
    await enc.exited;
    const refused = srt(`Tokens/${uniqueStreamId('srttok')},wrong`);
    const code = await Promise.race([refused.exited, sleep(15_000).then(() => 'still running')]);
    assert.notEqual(code, 0, `ffmpeg with a wrong token: ${code} ${refused.log()}`);
    assert.match(env.server.stderr(), /SRT publish refused/);
    t.diagnostic('SRT stream decoded; wrong token refused');
  });
});

test('a stream without audio, and one without video, each play', { timeout: 90_000 }, async (t) => {
  await env.guard('rtmp-one-track', async () => {
    const videoOnly = uniqueStreamId('rtmpv');
    const v = push('LiveApp', videoOnly, { gop: 30, audio: false });
    const pv = await env.player(videoOnly, 'video-only');
    await pv.waitForEvent('play_started', { kind: 'callback', timeoutMs: 20_000 });
    // play_started comes before the first packet: sample once video is there.
    await waitForFirstFrame(pv, 20_000);
    await assertMediaFlowing(pv, { audio: false });
    v.kill('SIGINT');
    const audioOnly = uniqueStreamId('rtmpa');
    const a = push('LiveApp', audioOnly, { video: false });
    const pa = await env.player(audioOnly, 'audio-only');
    await pa.waitForEvent('play_started', { kind: 'callback', timeoutMs: 20_000 });
    const first = await waitUntil(async () => {
      const s = await pa.stats();
      return s?.audio?.packetsReceived > 0 ? s : null;
    }, { timeoutMs: 10_000, what: 'audio packets at the audio-only player' });
    await sleep(1500);
    const later = await pa.stats();
    t.diagnostic(`audio-only: ${first.audio.packetsReceived} → ${later.audio.packetsReceived} packets, video ${JSON.stringify(later.video)}`);
    assert.ok(later.audio.packetsReceived > first.audio.packetsReceived + 40, 'audio keeps arriving');
    assert.ok(later.audio.totalSamplesReceived > first.audio.totalSamplesReceived, 'and is decoded');
    a.kill('SIGINT');
    await Promise.all([v.exited, a.exited]);
  });
});

test('tokens: an RTMP push without or with a wrong token is refused, a REST-minted one publishes once', { timeout: 90_000 }, async (t) => {
  await env.guard('rtmp-tokens', async () => {
    const id = uniqueStreamId('rtmptok');
    const refusedCode = await push('Tokens', `${id}?token=wrong`).exited;
    assert.notEqual(refusedCode, 0, 'ffmpeg fails to publish with a wrong token');
    assert.match(env.server.stderr(), /RTMP publish refused/);
    const expireDate = Math.floor(Date.now() / 1000) + 600;
    const minted = await env.server.rest('GET', `/broadcasts/${id}/token?expireDate=${expireDate}&type=publish`, undefined, 'Tokens');
    assert.equal(minted.status, 200, minted.text);
    const token = minted.json.tokenId;
    const ok = push('Tokens', `${id}?token=${token}`);
    await waitUntil(async () => (await broadcast('Tokens', id))?.status === 'broadcasting',
      { timeoutMs: 15_000, what: 'the tokened RTMP stream broadcasting' });
    const again = uniqueStreamId('rtmptok2');
    const reusedCode = await push('Tokens', `${again}?token=${token}`).exited;
    assert.notEqual(reusedCode, 0, 'a used token is refused');
    ok.kill('SIGINT');
    await ok.exited;
    t.diagnostic('wrong and reused tokens refused; minted token published');
  });
});

test('B-frames are reported in the log and in REST stream-info, and the server goes on', { timeout: 60_000 }, async () => {
  await env.guard('rtmp-bframes', async () => {
    const id = uniqueStreamId('rtmpb');
    const ffmpeg = push('LiveApp', id, { gop: 60, bframes: 2 });
    await waitUntil(() => /sends B-frames/.test(env.server.stderr()), { timeoutMs: 15_000, what: 'the B-frame warning' });
    // REST's stream-info says so too (and getStreamInfo's streamInformation, as bFrames).
    await waitUntil(async () => {
      const r = await env.server.rest('GET', `/broadcasts/${id}/stream-info`);
      return r.status === 200 && r.json?.[0]?.bFrames === true;
    }, { timeoutMs: 10_000, what: 'bFrames in REST stream-info' });
    ffmpeg.kill('SIGINT');
    await ffmpeg.exited;
    const health = await fetch(`${env.server.baseUrl()}/healthz`);
    assert.equal(health.status, 200);
  });
});

test('ffmpeg killed and restarted inside the restore window: the player keeps playing', { timeout: 90_000 }, async (t) => {
  await env.guard('rtmp-restore', async () => {
    const id = uniqueStreamId('rtmpre');
    const first = push('LiveApp', id, { gop: 30 });
    const player = await env.player(id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 20_000 });
    await waitForFirstFrame(player);
    first.kill('SIGKILL');
    await first.exited;
    await sleep(1000);
    const second = push('LiveApp', id, { gop: 30 });
    await sleep(3000);
    await assertMediaFlowing(player, { audio: true });
    const finished = (await player.events()).filter((e) => e.name === 'play_finished');
    assert.equal(finished.length, 0, 'no play_finished while the encoder came back');
    t.diagnostic('player decoding after the encoder restarted');
    second.kill('SIGINT');
    await second.exited;
  });
});
