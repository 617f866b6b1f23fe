// Video tracks drawn on a canvas: a black placeholder sent while the camera is turned off
// (so the video m-line keeps flowing and players stay connected), and the screen with the
// camera in a corner for "screen+camera" sharing.

/**
 * @param {Document} doc
 * @param {number} width
 * @param {number} height
 */
function makeCanvas(doc, width, height) {
  const canvas = doc.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas context');
  return { canvas, ctx };
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {number} fps
 */
function canvasTrack(canvas, fps) {
  const track = canvas.captureStream(fps).getVideoTracks()[0];
  if (!track) throw new Error('canvas.captureStream gave no video track');
  return track;
}

/** A black 320×240 video track, repainted once a second so frames keep coming. */
export class BlackVideoSource {
  /**
   * @param {Document} doc
   * @param {import('./platform.js').Platform} platform
   */
  constructor(doc, platform) {
    this.platform = platform;
    const { canvas, ctx } = makeCanvas(doc, 320, 240);
    const paint = () => {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    };
    paint();
    this.track = canvasTrack(canvas, 5);
    this.timer = platform.setInterval(paint, 1000);
  }

  stop() {
    this.platform.clearInterval(this.timer);
    this.track.stop();
  }
}

/** The shared screen, with the camera drawn in the top-right corner. */
export class ScreenCameraCompositor {
  /**
   * @param {Document} doc
   * @param {import('./platform.js').Platform} platform
   * @param {MediaStreamTrack} screenTrack
   * @param {MediaStreamTrack} cameraTrack
   * @param {{fps?: number, cameraPercent?: number, margin?: number}} [opts]
   */
  constructor(doc, platform, screenTrack, cameraTrack, { fps = 15, cameraPercent = 15, margin = 15 } = {}) {
    const MS = platform.MediaStream;
    if (!MS) throw new Error('no MediaStream on this platform');
    this.platform = platform;
    this.cameraTrack = cameraTrack;
    this.showCamera = true;
    const screenVideo = doc.createElement('video');
    const cameraVideo = doc.createElement('video');
    for (const [el, track] of /** @type {const} */ ([[screenVideo, screenTrack], [cameraVideo, cameraTrack]])) {
      el.muted = true;
      el.playsInline = true;
      el.srcObject = new MS([track]);
      el.play().catch(() => { /* autoplay of a muted local element does not fail in practice */ });
    }
    const { canvas, ctx } = makeCanvas(doc, 1280, 720);
    const draw = () => {
      const w = screenVideo.videoWidth;
      const h = screenVideo.videoHeight;
      if (!w || !h) return;
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      ctx.drawImage(screenVideo, 0, 0, w, h);
      if (this.showCamera && cameraVideo.videoWidth) {
        const cw = w * (cameraPercent / 100);
        const ch = cw * (cameraVideo.videoHeight / cameraVideo.videoWidth);
        ctx.drawImage(cameraVideo, w - cw - margin, margin, cw, ch);
      }
    };
    this.track = canvasTrack(canvas, fps);
    this.timer = platform.setInterval(draw, Math.round(1000 / fps));
    this.elements = [screenVideo, cameraVideo];
  }

  /** @param {boolean} on */
  setCameraVisible(on) {
    this.showCamera = on;
  }

  stop() {
    this.platform.clearInterval(this.timer);
    this.track.stop();
    for (const el of this.elements) el.srcObject = null;
  }
}
