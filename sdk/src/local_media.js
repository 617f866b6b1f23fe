// The local media: which camera, microphone or screen is captured, and the one MediaStream
// that is shown in the local <video> and sent when publishing. Every capture goes through
// capture()/captureScreen(), which turn browser failures into the errors of ERRORS.md.
//
// Methods that the app calls resolve to true on success and false after reporting an error
// through `report`; they never reject for a condition that was reported.

import {
  TernError, ErrorDefinition, captureError, deviceKindOf, insecureContextError, policyBlockedError,
  alreadyActiveError, noLocalStreamError, screenShareStoppedError,
} from './errors.js';
import { BlackVideoSource, ScreenCameraCompositor } from './canvas_sources.js';

/**
 * @typedef {object} LocalMediaHooks
 * @property {(err: TernError) => void} report raise an error to the app
 * @property {(definition: string, obj?: unknown) => void} info raise an info callback
 * @property {(kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<void>} trackChanged
 *   the outgoing track of a kind changed: put it on every sending peer connection
 * @property {(stream: MediaStream | null) => void} streamChanged show the new local stream
 */

/** @param {MediaStreamTrack | null | undefined} t */
const isLive = (t) => !!t && t.readyState === 'live';

/**
 * @param {boolean | MediaTrackConstraints | string | undefined} c
 * @returns {MediaTrackConstraints}
 */
const asObject = (c) => (c && typeof c === 'object' ? { ...c } : {});

export class LocalMedia {
  /**
   * @param {object} opts
   * @param {import('./platform.js').Platform} opts.platform
   * @param {import('./logger.js').Logger} opts.log
   * @param {import('./options.js').MediaConstraintsOption} opts.constraints
   * @param {'camera' | 'screen' | 'screen+camera'} opts.mode
   * @param {LocalMediaHooks} opts.hooks
   */
  constructor({ platform, log, constraints, mode, hooks }) {
    this.platform = platform;
    this.log = log;
    /** Constraints for the camera and microphone (video is never a mode string here). */
    this.constraints = {
      video: /** @type {boolean | MediaTrackConstraints} */ (constraints.video === undefined ? false : constraints.video),
      audio: constraints.audio === undefined ? false : constraints.audio,
    };
    this.initialMode = mode;
    /** @type {'camera' | 'screen' | 'screen+camera'} */
    this.mode = 'camera';
    this.hooks = hooks;
    /** @type {MediaStream | null} */
    this.stream = null;
    /** @type {MediaStreamTrack | null} */
    this.micTrack = null;
    /** @type {MediaStreamTrack | null} */
    this.cameraTrack = null;
    /** @type {MediaStreamTrack | null} */
    this.screenTrack = null;
    /** @type {MediaStreamTrack | null} the track currently sent as video */
    this.videoTrack = null;
    /** @type {BlackVideoSource | null} */
    this.placeholder = null;
    /** @type {ScreenCameraCompositor | null} */
    this.compositor = null;
    this.muted = false;
    this.cameraOff = false;
  }

  /** Whether the app asked for any camera/microphone/screen at all. */
  get wantsMedia() {
    return this.constraints.video !== false || this.constraints.audio !== false || this.initialMode !== 'camera';
  }

  get hasAudio() {
    return isLive(this.micTrack);
  }

  get hasVideo() {
    return isLive(this.videoTrack);
  }

  /**
   * getUserMedia with the checks the browser does not word well: secure context first, then the
   * document's permissions policy, then the request itself.
   * @param {MediaStreamConstraints} constraints
   * @returns {Promise<MediaStream>} rejects with a TernError
   */
  async capture(constraints) {
    const device = deviceKindOf(constraints);
    const md = this.platform.mediaDevices;
    if (!this.platform.isSecureContext) throw insecureContextError();
    if (!md || typeof md.getUserMedia !== 'function') {
      throw new TernError(ErrorDefinition.media_capture_failed,
        'This browser has no camera/microphone API (navigator.mediaDevices.getUserMedia). Use a current browser.');
    }
    const blocked = this.blockedFeatures(constraints);
    if (blocked.length > 0) throw policyBlockedError(device, blocked);
    try {
      return await md.getUserMedia(constraints);
    } catch (e) {
      const err = captureError(e, { device, constraints, secure: this.platform.isSecureContext });
      if (err.definition === ErrorDefinition.NotFoundError) this.listDevices().catch(() => {});
      throw err;
    }
  }

  /**
   * getDisplayMedia.
   * @returns {Promise<MediaStreamTrack>} the screen's video track; rejects with a TernError
   */
  async captureScreen() {
    const md = this.platform.mediaDevices;
    if (!this.platform.isSecureContext) throw insecureContextError();
    if (!md || typeof md.getDisplayMedia !== 'function') {
      throw new TernError(ErrorDefinition.media_capture_failed,
        'This browser cannot share the screen (no navigator.mediaDevices.getDisplayMedia). Use a desktop browser.');
    }
    try {
      const stream = await md.getDisplayMedia({ video: true, audio: false });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error('getDisplayMedia returned no video track');
      return track;
    } catch (e) {
      throw captureError(e, { device: 'screen', secure: this.platform.isSecureContext });
    }
  }

  /**
   * Permissions-policy features ("camera", "microphone") that forbid this request.
   * @param {MediaStreamConstraints} constraints
   */
  blockedFeatures(constraints) {
    const doc = /** @type {any} */ (this.platform.document);
    const policy = doc && (doc.permissionsPolicy || doc.featurePolicy);
    if (!policy || typeof policy.allowsFeature !== 'function') return [];
    /** @type {string[]} */
    const out = [];
    if (constraints.video && !policy.allowsFeature('camera')) out.push('camera');
    if (constraints.audio && !policy.allowsFeature('microphone')) out.push('microphone');
    return out;
  }

  /**
   * Enumerate inputs and report them as the "available_devices" info callback.
   * @returns {Promise<MediaDeviceInfo[]>}
   */
  async listDevices() {
    const md = this.platform.mediaDevices;
    if (!md || typeof md.enumerateDevices !== 'function') return [];
    const all = await md.enumerateDevices();
    const inputs = all.filter((d) => d.kind === 'audioinput' || d.kind === 'videoinput');
    this.hooks.info('available_devices', inputs);
    return inputs;
  }

  /**
   * The first capture, as mediaConstraints asks (camera, screen or screen+camera, plus the
   * microphone). Reports failures; resolves to whether a stream exists afterwards.
   */
  async start() {
    if (this.stream) return true;
    if (!this.wantsMedia) return false;
    if (this.initialMode === 'screen' || this.initialMode === 'screen+camera') {
      const shared = await this.shareScreen(this.initialMode === 'screen+camera');
      if (this.constraints.audio !== false && !this.hasAudio) await this.startAudio();
      if (shared) return true;
      // The screen was refused: fall back to the camera so the page can still publish.
      if (!this.hasVideo) await this.startVideo();
      return this.stream !== null;
    }
    /** @type {MediaStreamConstraints} */
    const want = {};
    if (this.constraints.video !== false) want.video = this.constraints.video;
    if (this.constraints.audio !== false) want.audio = this.constraints.audio;
    try {
      const stream = await this.capture(want);
      const mic = stream.getAudioTracks()[0] ?? null;
      const cam = stream.getVideoTracks()[0] ?? null;
      if (mic) await this.setAudio(mic);
      if (cam) {
        this.cameraTrack = cam;
        await this.setVideo(cam);
      }
      this.listDevices().catch((e) => this.log.debug('enumerateDevices failed', e));
      return true;
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
  }

  /**
   * Start the microphone. Raises AudioAlreadyActive when a live microphone track exists.
   * @param {MediaTrackConstraints | boolean} [constraints]
   */
  async startAudio(constraints) {
    if (isLive(this.micTrack)) {
      this.hooks.report(alreadyActiveError('audio', this.micTrack?.label ?? ''));
      return false;
    }
    const audio = constraints ?? (this.constraints.audio === false ? true : this.constraints.audio);
    try {
      const stream = await this.capture({ audio });
      const track = stream.getAudioTracks()[0];
      if (!track) throw new TernError(ErrorDefinition.NotFoundError, 'The browser returned no microphone track. Check the microphone and try again.');
      if (isLive(this.micTrack)) {
        // Another start won the race while we waited for the browser.
        track.stop();
        this.hooks.report(alreadyActiveError('audio', this.micTrack?.label ?? ''));
        return false;
      }
      if (constraints !== undefined) this.constraints.audio = constraints;
      else if (this.constraints.audio === false) this.constraints.audio = true;
      await this.setAudio(track);
      return true;
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
  }

  /**
   * Start the camera. Raises VideoAlreadyActive when a live camera or screen track is being sent.
   * @param {MediaTrackConstraints | boolean} [constraints]
   */
  async startVideo(constraints) {
    const current = this.liveVideoSource();
    if (current) {
      this.hooks.report(alreadyActiveError('video', current.label));
      return false;
    }
    const video = constraints ?? (this.constraints.video === false ? true : this.constraints.video);
    try {
      const stream = await this.capture({ video });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new TernError(ErrorDefinition.NotFoundError, 'The browser returned no camera track. Check the camera and try again.');
      const raced = this.liveVideoSource();
      if (raced) {
        track.stop();
        this.hooks.report(alreadyActiveError('video', raced.label));
        return false;
      }
      if (constraints !== undefined) this.constraints.video = constraints;
      else if (this.constraints.video === false) this.constraints.video = true;
      this.cameraOff = false;
      this.cameraTrack = track;
      this.mode = 'camera';
      await this.setVideo(track);
      return true;
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
  }

  /** The live camera or screen track being sent (not the black placeholder), if any. */
  liveVideoSource() {
    if (this.mode !== 'camera' && isLive(this.screenTrack)) return /** @type {MediaStreamTrack} */ (this.screenTrack);
    if (!this.cameraOff && isLive(this.cameraTrack)) return /** @type {MediaStreamTrack} */ (this.cameraTrack);
    return null;
  }

  muteMic() {
    if (!this.stream) {
      this.hooks.report(noLocalStreamError('muteLocalMic'));
      return false;
    }
    this.muted = true;
    if (this.micTrack) this.micTrack.enabled = false;
    return true;
  }

  unmuteMic() {
    if (!this.stream) {
      this.hooks.report(noLocalStreamError('unmuteLocalMic'));
      return false;
    }
    this.muted = false;
    if (this.micTrack) this.micTrack.enabled = true;
    return true;
  }

  /** Send black frames instead of the camera and release the camera. */
  async turnOffCamera() {
    if (!this.stream) {
      this.hooks.report(noLocalStreamError('turnOffLocalCamera'));
      return false;
    }
    if (this.mode === 'screen+camera' && this.compositor) {
      this.compositor.setCameraVisible(false);
      this.cameraOff = true;
      return true;
    }
    if (this.cameraOff) return true;
    const doc = this.platform.document;
    if (!doc) return false;
    this.placeholder = new BlackVideoSource(doc, this.platform);
    this.cameraOff = true;
    const camera = this.cameraTrack;
    this.cameraTrack = null;
    if (this.mode === 'camera') await this.setVideo(this.placeholder.track);
    camera?.stop();
    return true;
  }

  /** Undo turnOffCamera(): capture the camera again. */
  async turnOnCamera() {
    if (this.mode === 'screen+camera' && this.compositor) {
      this.compositor.setCameraVisible(true);
      this.cameraOff = false;
      return true;
    }
    if (!this.cameraOff && isLive(this.cameraTrack)) return true;
    const video = this.constraints.video === false ? true : this.constraints.video;
    try {
      const stream = await this.capture({ video });
      const track = stream.getVideoTracks()[0];
      if (!track) return false;
      this.cameraTrack = track;
      this.cameraOff = false;
      if (this.mode === 'camera') await this.setVideo(track);
      this.stopPlaceholder();
      return true;
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
  }

  /**
   * Switch to another camera (or back from screen sharing to the camera).
   * @param {string} [deviceId]
   */
  async switchCamera(deviceId) {
    const video = asObject(this.constraints.video);
    if (deviceId) video.deviceId = { exact: deviceId };
    const wanted = Object.keys(video).length > 0 ? video : true;
    try {
      const stream = await this.capture({ video: wanted });
      const track = stream.getVideoTracks()[0];
      if (!track) return false;
      this.constraints.video = wanted;
      const oldCamera = this.cameraTrack;
      this.cameraTrack = track;
      this.cameraOff = false;
      this.mode = 'camera';
      this.stopScreen();
      await this.setVideo(track);
      if (oldCamera && oldCamera !== track) oldCamera.stop();
      this.stopPlaceholder();
      return true;
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
  }

  /**
   * Switch to another microphone; keeps the muted state.
   * @param {string} deviceId
   */
  async switchMic(deviceId) {
    if (!deviceId) {
      this.log.warn('switchAudioInputSource needs a deviceId (see the available_devices callback)');
      return false;
    }
    const audio = { ...asObject(this.constraints.audio), deviceId: { exact: deviceId } };
    try {
      const stream = await this.capture({ audio });
      const track = stream.getAudioTracks()[0];
      if (!track) return false;
      this.constraints.audio = audio;
      const old = this.micTrack;
      await this.setAudio(track);
      if (old && old !== track) old.stop();
      return true;
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
  }

  /**
   * Share the screen instead of the camera, or with the camera in a corner. A refused picker
   * raises screen_share_permission_denied and leaves the camera as it was.
   * @param {boolean} withCamera
   */
  async shareScreen(withCamera) {
    let screen;
    try {
      screen = await this.captureScreen();
    } catch (e) {
      this.reportFailure(e);
      return false;
    }
    let camera = isLive(this.cameraTrack) ? this.cameraTrack : null;
    if (withCamera && !camera) {
      try {
        const stream = await this.capture({ video: this.constraints.video === false ? true : this.constraints.video });
        camera = stream.getVideoTracks()[0] ?? null;
        this.cameraTrack = camera;
      } catch (e) {
        // Share the screen alone; say why the camera is missing.
        this.reportFailure(e);
      }
    }
    this.stopScreen();
    this.screenTrack = screen;
    screen.addEventListener('ended', () => this.onScreenEnded(screen));
    if (withCamera && camera && this.platform.document) {
      this.compositor = new ScreenCameraCompositor(this.platform.document, this.platform, screen, camera);
      this.compositor.setCameraVisible(!this.cameraOff);
      this.mode = 'screen+camera';
      await this.setVideo(this.compositor.track);
    } else {
      this.mode = 'screen';
      await this.setVideo(screen);
      // The camera is not needed while only the screen is sent: release it.
      if (this.cameraTrack) {
        this.cameraTrack.stop();
        this.cameraTrack = null;
      }
    }
    this.stopPlaceholder();
    return true;
  }

  /**
   * The browser ended the display track ("Stop sharing", or the shared tab closed).
   * @param {MediaStreamTrack} screen
   */
  async onScreenEnded(screen) {
    if (this.screenTrack !== screen) return;
    this.log.info('screen sharing ended by the browser');
    this.stopScreen();
    this.hooks.report(screenShareStoppedError());
    this.hooks.info('screen_share_stopped');
    this.mode = 'camera';
    if (isLive(this.cameraTrack) && !this.cameraOff) {
      await this.setVideo(/** @type {MediaStreamTrack} */ (this.cameraTrack));
      return;
    }
    if (this.cameraOff && this.platform.document) {
      this.placeholder = this.placeholder ?? new BlackVideoSource(this.platform.document, this.platform);
      await this.setVideo(this.placeholder.track);
      return;
    }
    await this.turnOnCamera();
  }

  stopScreen() {
    if (this.compositor) {
      this.compositor.stop();
      this.compositor = null;
    }
    if (this.screenTrack) {
      const s = this.screenTrack;
      this.screenTrack = null;
      s.stop();
    }
  }

  stopPlaceholder() {
    if (this.placeholder) {
      this.placeholder.stop();
      this.placeholder = null;
    }
  }

  /** Stop every local track; the stream is gone until the next capture. */
  close() {
    this.stopScreen();
    this.stopPlaceholder();
    for (const t of [this.micTrack, this.cameraTrack, this.videoTrack]) t?.stop();
    this.micTrack = null;
    this.cameraTrack = null;
    this.videoTrack = null;
    this.stream = null;
    this.cameraOff = false;
    this.mode = 'camera';
    this.hooks.streamChanged(null);
  }

  /** @param {MediaStreamTrack} track */
  async setAudio(track) {
    track.enabled = !this.muted;
    this.micTrack = track;
    this.rebuildStream();
    await this.hooks.trackChanged('audio', track);
  }

  /** @param {MediaStreamTrack} track */
  async setVideo(track) {
    this.videoTrack = track;
    this.rebuildStream();
    await this.hooks.trackChanged('video', track);
  }

  rebuildStream() {
    const MS = this.platform.MediaStream;
    if (!MS) return;
    const tracks = [this.micTrack, this.videoTrack].filter((t) => t != null);
    this.stream = new MS(/** @type {MediaStreamTrack[]} */ (tracks));
    this.hooks.streamChanged(this.stream);
  }

  /** @param {unknown} e */
  reportFailure(e) {
    if (e instanceof TernError) this.hooks.report(e);
    else this.hooks.report(captureError(e, { device: 'camera and microphone', secure: this.platform.isSecureContext }));
  }
}
