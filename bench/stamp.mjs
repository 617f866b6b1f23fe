// Shared by the benchmarks that measure glass-to-glass latency: frames stamped with the wall clock by ffmpeg,
// read back from what a page shows.

/** Median, p95, min and max of `values`. */
export function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return { n: 0, median: null, p95: null };
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0], max: s[s.length - 1] };
}

// The wall clock in milliseconds (mod 2^24) as 24 blocks of 16x16 in the top row, white for 1.
// The frame's time is the wall clock in microseconds while geq draws it, then a plain frame count again.
export const STAMP = 'color=c=black:s=384x16:r=30,settb=1/1000000,setpts=RTCTIME,'
  + "geq=lum='if(mod(floor(mod(floor(T*1000),16777216)/pow(2,floor(X/16))),2),235,16)':cb=128:cr=128,"
  + 'settb=1/30,setpts=N,format=yuv420p[stamp]';

/** ffmpeg's arguments to push a live test pattern stamped with the wall clock, and a tone, to `url`. */
export function pushLiveArgs(url, { gop = 300 } = {}) {
  return ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-filter_complex', `${STAMP};[0:v][stamp]overlay=0:0:shortest=1[v]`, '-map', '[v]', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-bf', '0',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', '800k',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url];
}

/** Latencies (ms) of the stamped frames a player page shows during `ms`. */
export async function glassToGlass(player, ms) {
  return player.page.evaluate(async (ms) => {
    const video = [...document.querySelectorAll('video')].find((v) => v.videoWidth > 0);
    if (!video) return { error: 'no playing video element' };
    const canvas = document.createElement('canvas');
    canvas.width = 384; canvas.height = 16;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const out = [];
    const until = performance.now() + ms;
    await new Promise((resolve) => {
      const onFrame = (now, meta) => {
        ctx.drawImage(video, 0, 0, 384, 16, 0, 0, 384, 16);
        const px = ctx.getImageData(0, 0, 384, 16).data;
        let v = 0;
        for (let bit = 0; bit < 24; bit++) {
          const i = (8 * 384 + bit * 16 + 8) * 4;
          if (px[i] > 128) v += 2 ** bit;
        }
        const shown = performance.timeOrigin + (meta.expectedDisplayTime ?? now);
        const wrap = 2 ** 24;
        const made = shown - ((((shown % wrap) - v) % wrap) + wrap) % wrap;
        out.push(shown - made);
        if (performance.now() < until) video.requestVideoFrameCallback(onFrame); else resolve();
      };
      video.requestVideoFrameCallback(onFrame);
    });
    return { latencies: out };
  }, ms);
}
