// Constructor options: the official WebRTCAdaptor names in, one validated object out.
// A wrong type is a programming error and throws at construction with a message naming
// the option; anything about the environment (no camera, no WebSocket) is reported later
// through callbackError instead.

/**
 * @callback InfoCallback
 * @param {string} info
 * @param {any} [obj]
 * @returns {void}
 */

/**
 * @callback ErrorCallback
 * @param {string} definition
 * @param {any} [message]
 * @returns {void}
 */

/**
 * Media constraints as the official SDK accepts them: `video` may also be "camera", "screen"
 * or "screen+camera" (publish the screen, or the screen with the camera in a corner).
 * @typedef {object} MediaConstraintsOption
 * @property {boolean | MediaTrackConstraints | 'camera' | 'screen' | 'screen+camera'} [video]
 * @property {boolean | MediaTrackConstraints} [audio]
 */

/**
 * The options apps pass (official names; all optional except the WebSocket URL).
 * @typedef {object} AdaptorOptionsInput
 * @property {string} [websocket_url] e.g. "wss://host:5443/LiveApp/websocket"
 * @property {string} [websocketURL] the official SDK's other spelling
 * @property {MediaConstraintsOption} [mediaConstraints] default {video: true, audio: true}
 * @property {string} [localVideoId] id of the <video> showing the local camera
 * @property {HTMLVideoElement} [localVideoElement]
 * @property {string} [remoteVideoId] id of the <video> that plays the remote stream
 * @property {HTMLVideoElement} [remoteVideoElement]
 * @property {boolean} [isPlayMode] play only: no camera or microphone is opened
 * @property {boolean} [onlyDataChannel] publish a data channel only, no media
 * @property {boolean} [dataChannelEnabled] default true
 * @property {RTCConfiguration} [peerconnection_config] ICE servers etc.; without iceServers the server's are used
 * @property {number | 'unlimited'} [bandwidth] maximum video bitrate when publishing, kbps (default 1200; with
 *   simulcast, a cap on every layer, default none: each layer keeps its own maxBitrate)
 * @property {boolean} [debug] log debug lines to the console
 * @property {InfoCallback} [callback] info callback (official names and payloads)
 * @property {ErrorCallback} [callbackError] error callback (definition, message)
 * @property {boolean} [reconnectIfRequiredFlag] default true: resume publish/play after a dropped connection
 * @property {RTCDegradationPreference} [degradationPreference] default "maintain-resolution"
 * @property {boolean} [simulcast] Tern: publish the camera as several RID layers (default false); the
 *   server forwards each player the layer its link carries (and the one forceStreamQuality asks for)
 * @property {SimulcastLayer[]} [simulcastLayers] Tern: the layers, lowest first (default DEFAULT_SIMULCAST_LAYERS)
 * @property {{baseMs?: number, maxMs?: number, maxAttempts?: number}} [reconnectBackoff]
 *   Tern: delays between reconnection attempts (default 500 ms doubling up to 10 s, unlimited attempts)
 * @property {number} [negotiationTimeoutMs] Tern: a publish/play that has not connected after this long is retried (default 10000)
 * @property {number} [pingIntervalMs] Tern: keep-alive period (default 3000)
 * @property {number} [pongTimeoutMs] Tern: a socket silent for this long is treated as dead and reopened (default 10000)
 */

/**
 * @typedef {object} AdaptorOptions
 * @property {string} websocketUrl
 * @property {MediaConstraintsOption} mediaConstraints
 * @property {'camera' | 'screen' | 'screen+camera'} publishMode
 * @property {string | null} localVideoId
 * @property {HTMLVideoElement | null} localVideoElement
 * @property {string | null} remoteVideoId
 * @property {HTMLVideoElement | null} remoteVideoElement
 * @property {boolean} isPlayMode
 * @property {boolean} onlyDataChannel
 * @property {boolean} dataChannelEnabled
 * @property {RTCConfiguration} peerconnectionConfig
 * @property {boolean} userDefinedIceServers
 * @property {number | 'unlimited'} bandwidth
 * @property {boolean} bandwidthGiven whether the app set `bandwidth` (a simulcast publisher's layers are capped only then)
 * @property {boolean} debug
 * @property {InfoCallback | null} callback
 * @property {ErrorCallback | null} callbackError
 * @property {boolean} reconnect
 * @property {RTCDegradationPreference} degradationPreference
 * @property {SimulcastLayer[] | null} simulcastLayers the video layers to publish; null without simulcast
 * @property {{baseMs: number, maxMs: number, maxAttempts: number}} reconnectBackoff
 * @property {number} negotiationTimeoutMs
 * @property {number} pingIntervalMs
 * @property {number} pongTimeoutMs
 * @property {string[]} ignored option names this SDK does not use (logged in debug mode)
 */

/**
 * One simulcast layer: an RTCRtpEncodingParameters subset. The browser scales the camera down by
 * `scaleResolutionDownBy` and encodes it at most at `maxBitrate` bits/s.
 * @typedef {object} SimulcastLayer
 * @property {string} rid 1 to 16 letters or digits, unique in the list (the SDP's a=rid)
 * @property {number} [scaleResolutionDownBy] >= 1 (default 1: full size)
 * @property {number} [maxBitrate] bits/s
 * @property {number} [maxFramerate] frames/s
 */

/**
 * Three layers, lowest first as the browser and the SDP list them. From a 1280x720 camera they are
 * 320x180, 640x360 and 1280x720, at bitrates that keep each sharp at 30 fps without crowding a
 * typical uplink (2.15 Mbit/s in all). Chromium sends fewer layers from smaller cameras (two from
 * 640x480, one from 320x180) and leaves the top ones out while its bandwidth estimate is low.
 * @type {ReadonlyArray<Readonly<SimulcastLayer>>}
 */
export const DEFAULT_SIMULCAST_LAYERS = Object.freeze([
  Object.freeze({ rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 }),
  Object.freeze({ rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 }),
  Object.freeze({ rid: 'f', maxBitrate: 1_500_000 }),
]);

const LAYER_KEYS = ['rid', 'scaleResolutionDownBy', 'maxBitrate', 'maxFramerate'];

/**
 * @param {unknown} raw
 * @returns {SimulcastLayer[]}
 */
function simulcastLayersOf(raw) {
  if (raw === undefined || raw === null) return DEFAULT_SIMULCAST_LAYERS.map((l) => ({ ...l }));
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > 3) {
    throw new TypeError('WebRTCAdaptor option simulcastLayers must be a list of 1 to 3 layers like {rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000}');
  }
  const seen = new Set();
  return raw.map((layer, i) => {
    const where = `simulcastLayers[${i}]`;
    if (!layer || typeof layer !== 'object') throw new TypeError(`WebRTCAdaptor option ${where} must be an object with a rid`);
    const l = /** @type {Record<string, unknown>} */ (layer);
    const unknown = Object.keys(l).filter((k) => !LAYER_KEYS.includes(k));
    if (unknown.length) throw new TypeError(`WebRTCAdaptor option ${where} has unknown keys ${unknown.join(', ')} (allowed: ${LAYER_KEYS.join(', ')})`);
    // Chromium accepts only letters and digits, at most 16 (RFC 8851 allows more).
    if (typeof l.rid !== 'string' || !/^[A-Za-z0-9]{1,16}$/.test(l.rid)) {
      throw new TypeError(`WebRTCAdaptor option ${where}.rid must be 1 to 16 letters or digits, got ${JSON.stringify(l.rid)}`);
    }
    if (seen.has(l.rid)) throw new TypeError(`WebRTCAdaptor option simulcastLayers has rid "${l.rid}" twice`);
    seen.add(l.rid);
    /** @type {SimulcastLayer} */
    const out = { rid: l.rid };
    if (l.scaleResolutionDownBy != null) out.scaleResolutionDownBy = finite(`${where}.scaleResolutionDownBy`, l.scaleResolutionDownBy, 1);
    if (l.maxBitrate != null) out.maxBitrate = finite(`${where}.maxBitrate`, l.maxBitrate, 1);
    if (l.maxFramerate != null) out.maxFramerate = finite(`${where}.maxFramerate`, l.maxFramerate, 1);
    return out;
  });
}

const KNOWN = new Set([
  'websocket_url', 'websocketURL', 'mediaConstraints', 'localVideoId', 'localVideoElement', 'remoteVideoId',
  'remoteVideoElement', 'isPlayMode', 'onlyDataChannel', 'dataChannelEnabled', 'peerconnection_config', 'bandwidth',
  'debug', 'callback', 'callbackError', 'reconnectIfRequiredFlag', 'degradationPreference', 'reconnectBackoff',
  'negotiationTimeoutMs', 'pingIntervalMs', 'pongTimeoutMs', 'simulcast', 'simulcastLayers',
]);

const DEGRADATION = ['maintain-resolution', 'maintain-framerate', 'balanced'];

/**
 * @param {string} name
 * @param {unknown} value
 * @param {boolean} fallback
 */
function bool(name, value, fallback) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`WebRTCAdaptor option ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * @param {string} name
 * @param {unknown} value
 * @param {number} fallback
 * @param {number} min
 */
function positive(name, value, fallback, min) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !(value >= min)) {
    throw new TypeError(`WebRTCAdaptor option ${name} must be a number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A finite number >= min (for values handed to the browser, which refuses Infinity).
 * @param {string} name
 * @param {unknown} value
 * @param {number} min
 */
function finite(name, value, min) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new TypeError(`WebRTCAdaptor option ${name} must be a finite number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * @param {string} name
 * @param {unknown} value
 */
function optString(name, value) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new TypeError(`WebRTCAdaptor option ${name} must be a string, got ${typeof value}`);
  return value;
}

/**
 * @param {string} name
 * @param {unknown} value
 * @returns {HTMLVideoElement | null}
 */
function optElement(name, value) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') throw new TypeError(`WebRTCAdaptor option ${name} must be a <video> element`);
  return /** @type {HTMLVideoElement} */ (value);
}

/**
 * @param {string} name
 * @param {unknown} value
 */
function optFunction(name, value) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'function') throw new TypeError(`WebRTCAdaptor option ${name} must be a function`);
  return /** @type {any} */ (value);
}

/**
 * @param {unknown} raw
 * @returns {{constraints: MediaConstraintsOption, mode: 'camera' | 'screen' | 'screen+camera'}}
 */
function mediaConstraintsOf(raw) {
  if (raw === undefined || raw === null) return { constraints: { video: true, audio: true }, mode: 'camera' };
  if (typeof raw !== 'object') throw new TypeError('WebRTCAdaptor option mediaConstraints must be an object like {video: true, audio: true}');
  const c = /** @type {MediaConstraintsOption} */ ({ ...raw });
  for (const kind of /** @type {const} */ (['video', 'audio'])) {
    const v = c[kind];
    if (v === undefined || typeof v === 'boolean' || (typeof v === 'object' && v !== null)) continue;
    if (kind === 'video' && (v === 'camera' || v === 'screen' || v === 'screen+camera')) continue;
    throw new TypeError(`WebRTCAdaptor option mediaConstraints.${kind} must be a boolean or a constraints object`
      + `${kind === 'video' ? ' (or "camera", "screen", "screen+camera")' : ''}, got ${JSON.stringify(v)}`);
  }
  /** @type {'camera' | 'screen' | 'screen+camera'} */
  let mode = 'camera';
  if (c.video === 'screen' || c.video === 'screen+camera') {
    mode = c.video;
    c.video = true;
  } else if (c.video === 'camera') {
    c.video = true;
  }
  return { constraints: c, mode };
}

/**
 * @param {unknown} raw
 * @returns {RTCConfiguration}
 */
function peerConfigOf(raw) {
  if (raw === undefined || raw === null) return { iceServers: [] };
  if (typeof raw !== 'object') throw new TypeError('WebRTCAdaptor option peerconnection_config must be an RTCConfiguration object');
  const cfg = /** @type {RTCConfiguration & {sdpSemantics?: string}} */ ({ ...raw });
  // Chrome removed plan-b; the official SDK still passes this key.
  delete cfg.sdpSemantics;
  if (cfg.iceServers !== undefined && !Array.isArray(cfg.iceServers)) {
    throw new TypeError('WebRTCAdaptor option peerconnection_config.iceServers must be an array');
  }
  return cfg;
}

/**
 * Validate and normalise constructor options.
 * @param {AdaptorOptionsInput} input
 * @returns {AdaptorOptions}
 */
export function parseOptions(input) {
  if (!input || typeof input !== 'object') throw new TypeError('new WebRTCAdaptor(options) needs an options object');
  const raw = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (input));

  const url = optString('websocket_url', raw.websocket_url) ?? optString('websocketURL', raw.websocketURL);
  if (url === null) throw new TypeError('WebRTCAdaptor needs websocket_url, e.g. "wss://your-server:5443/LiveApp/websocket"');
  if (!/^wss?:\/\//i.test(url)) throw new TypeError(`WebRTCAdaptor websocket_url must start with ws:// or wss://, got "${url}"`);

  const { constraints, mode } = mediaConstraintsOf(raw.mediaConstraints);

  const simulcast = bool('simulcast', raw.simulcast, false);
  if (!simulcast && raw.simulcastLayers != null) {
    throw new TypeError('WebRTCAdaptor option simulcastLayers needs simulcast: true');
  }
  const simulcastLayers = simulcast ? simulcastLayersOf(raw.simulcastLayers) : null;

  let bandwidth = /** @type {number | 'unlimited'} */ (1200);
  if (raw.bandwidth !== undefined && raw.bandwidth !== null) {
    if (raw.bandwidth === 'unlimited') bandwidth = 'unlimited';
    else if (typeof raw.bandwidth === 'number' && raw.bandwidth > 0) bandwidth = raw.bandwidth;
    else throw new TypeError(`WebRTCAdaptor option bandwidth must be a positive number of kbps or "unlimited", got ${JSON.stringify(raw.bandwidth)}`);
  }

  const peerconnectionConfig = peerConfigOf(raw.peerconnection_config);
  const degradation = raw.degradationPreference ?? 'maintain-resolution';
  if (typeof degradation !== 'string' || !DEGRADATION.includes(degradation)) {
    throw new TypeError(`WebRTCAdaptor option degradationPreference must be one of ${DEGRADATION.join(', ')}`);
  }

  const rb = /** @type {Record<string, unknown>} */ (raw.reconnectBackoff && typeof raw.reconnectBackoff === 'object' ? raw.reconnectBackoff : {});
  const baseMs = positive('reconnectBackoff.baseMs', rb.baseMs, 500, 50);
  const reconnectBackoff = {
    baseMs,
    maxMs: positive('reconnectBackoff.maxMs', rb.maxMs, Math.max(10_000, baseMs), baseMs),
    maxAttempts: positive('reconnectBackoff.maxAttempts', rb.maxAttempts, Infinity, 1),
  };

  const pingIntervalMs = positive('pingIntervalMs', raw.pingIntervalMs, 3000, 100);
  return {
    websocketUrl: url,
    mediaConstraints: constraints,
    publishMode: mode,
    localVideoId: optString('localVideoId', raw.localVideoId),
    localVideoElement: optElement('localVideoElement', raw.localVideoElement),
    remoteVideoId: optString('remoteVideoId', raw.remoteVideoId),
    remoteVideoElement: optElement('remoteVideoElement', raw.remoteVideoElement),
    isPlayMode: bool('isPlayMode', raw.isPlayMode, false),
    onlyDataChannel: bool('onlyDataChannel', raw.onlyDataChannel, false),
    dataChannelEnabled: bool('dataChannelEnabled', raw.dataChannelEnabled, true),
    peerconnectionConfig,
    userDefinedIceServers: Array.isArray(peerconnectionConfig.iceServers) && raw.peerconnection_config != null
      && /** @type {RTCConfiguration} */ (raw.peerconnection_config).iceServers !== undefined,
    bandwidth,
    bandwidthGiven: raw.bandwidth !== undefined && raw.bandwidth !== null,
    debug: bool('debug', raw.debug, false),
    callback: optFunction('callback', raw.callback),
    callbackError: optFunction('callbackError', raw.callbackError),
    reconnect: bool('reconnectIfRequiredFlag', raw.reconnectIfRequiredFlag, true),
    degradationPreference: /** @type {RTCDegradationPreference} */ (degradation),
    simulcastLayers,
    reconnectBackoff,
    negotiationTimeoutMs: positive('negotiationTimeoutMs', raw.negotiationTimeoutMs, 10_000, 500),
    pingIntervalMs,
    pongTimeoutMs: positive('pongTimeoutMs', raw.pongTimeoutMs, Math.max(10_000, 3 * pingIntervalMs), pingIntervalMs),
    ignored: Object.keys(raw).filter((k) => !KNOWN.has(k)),
  };
}

/**
 * The socket URL the official SDK builds: it adds target=origin (publishers) or target=edge
 * (play-only adaptors) unless the URL already names one; Ant Media load balancers route on it.
 * @param {string} url
 * @param {boolean} isPlayMode
 */
export function withTarget(url, isPlayMode) {
  const u = new URL(url);
  const t = u.searchParams.get('target');
  if (t !== 'origin' && t !== 'edge') u.searchParams.set('target', isPlayMode ? 'edge' : 'origin');
  return u.toString();
}
