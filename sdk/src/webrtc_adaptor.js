// Tern's WebRTCAdaptor: the public API of Ant Media's adaptor (same option names, methods and
// callbacks), built from small parts — SignalingClient (socket, ping, reconnect), LocalMedia
// (camera, microphone, screen), PeerManager (RTCPeerConnections), StreamSupervisor (what to
// resume and when) — and the error catalogue of errors.js. Every adaptor owns its parts: two
// adaptors on one page share nothing.
//
// Errors reach the app as callbackError(definition, message) — message is a sentence for
// errors the SDK raises and the server's whole message object for server errors — and as an
// "error" event {definition, message, streamId, data}. Info callbacks keep the official names
// and payloads and are also "info" events.

import { parseOptions, withTarget } from './options.js';
import { browserPlatform } from './platform.js';
import { Logger } from './logger.js';
import { Emitter } from './emitter.js';
import { Backoff } from './backoff.js';
import { SignalingClient } from './signaling.js';
import { LocalMedia } from './local_media.js';
import { PeerManager } from './peers.js';
import { StreamSupervisor } from './supervisor.js';
import {
  TernError, webSocketNotSupportedError, webSocketNotConnectedError, dataChannelError, serverErrorSentence,
} from './errors.js';
import { describeInfo } from './info_words.js';

export { ErrorDefinition, describe as describeError, TernError, NOT_READABLE_MESSAGE } from './errors.js';
export { describeInfo } from './info_words.js';

/**
 * The object "error" and "info" listeners receive.
 * @typedef {object} AdaptorEvent
 * @property {string} definition e.g. "NotAllowedError", "publish_started"
 * @property {string} message a sentence for people
 * @property {string | undefined} streamId the stream concerned, when there is one
 * @property {unknown} data the classic callback's payload (the server's message for server errors)
 */

/** @typedef {{error: AdaptorEvent, info: AdaptorEvent}} AdaptorEvents */

/**
 * @param {unknown} v
 * @returns {string}
 */
const str = (v) => (v === undefined || v === null ? '' : String(v));

/**
 * The stream id an info payload is about, if any.
 * @param {unknown} obj
 * @returns {string | undefined}
 */
function streamIdOf(obj) {
  if (typeof obj === 'string') return obj;
  if (obj && typeof obj === 'object' && typeof (/** @type {any} */ (obj)).streamId === 'string') return /** @type {any} */ (obj).streamId;
  return undefined;
}

export class WebRTCAdaptor {
  /**
   * @param {import('./options.js').AdaptorOptionsInput} options the official WebRTCAdaptor options
   * @param {import('./platform.js').Platform} [platform] the browser; tests pass fakes
   */
  constructor(options, platform = browserPlatform()) {
    const opts = parseOptions(options);
    this.options = opts;
    this.platform = platform;
    this.log = new Logger({ debug: opts.debug, sink: platform.console ?? console });
    if (opts.ignored.length > 0) this.log.debug(`options not used by Tern's SDK: ${opts.ignored.join(', ')}`);
    /** @type {Emitter<AdaptorEvents>} */
    this.events = new Emitter(this.log);
    /** Official-style plugin listeners: fn(info, obj). @type {Array<(info: string, obj?: unknown) => void>} */
    this.infoListeners = [];
    /** @type {Array<(definition: string, message?: unknown) => void>} */
    this.errorListeners = [];
    /** The id of the last publish() call (sent as userPublishId when playing, as the official SDK does). @type {string | null} */
    this.publishStreamId = null;
    /** @type {string | null} */
    this.roomName = null;
    /** joinRoom requests, sent again after a reconnection. @type {Map<string, Record<string, unknown>>} */
    this.rooms = new Map();
    /** @type {RTCIceServer[] | null} ICE servers the server announced */
    this.serverIceServers = null;
    /** Intents whose request is being prepared (waiting for media). @type {WeakSet<object>} */
    this.preparing = new WeakSet();
    /** Remote streams built for tracks that came without an msid stream. @type {Map<string, MediaStream>} */
    this.remoteStreams = new Map();
    /** @type {Map<string, unknown>} enableStats timers */
    this.statsTimers = new Map();
    this.openGeneration = 0;

    /** @type {LocalMedia} */
    this.media = new LocalMedia({
      platform,
      log: this.log.child('media'),
      constraints: opts.mediaConstraints,
      mode: opts.publishMode,
      hooks: {
        report: (err) => this.raise(err),
        info: (definition, obj) => this.notify(definition, obj),
        trackChanged: (kind, track) => this.peers.replaceTrack(kind, track),
        streamChanged: (stream) => this.showLocalStream(stream),
      },
    });

    /** @type {PeerManager} */
    this.peers = new PeerManager({
      platform,
      log: this.log.child('peer'),
      config: () => this.peerConfig(),
      dataChannelEnabled: opts.dataChannelEnabled,
      degradationPreference: opts.degradationPreference,
      simulcastLayers: opts.simulcastLayers,
      localStream: () => this.media.stream,
      hooks: {
        send: (msg) => { this.signaling?.send(msg); },
        iceState: (streamId, state) => this.onIceState(streamId, state),
        track: (streamId, event, trackId) => this.onRemoteTrack(streamId, event, trackId),
        channelOpen: (streamId) => this.notify('data_channel_opened', streamId),
        channelClose: (streamId) => this.notify('data_channel_closed', streamId),
        data: (streamId, data) => this.notify('data_received', { streamId, data }),
        channelError: (streamId, event) => this.raise(dataChannelError(streamId, event)),
      },
    });

    const rb = opts.reconnectBackoff;
    const makeBackoff = () => new Backoff({ baseMs: rb.baseMs, maxMs: rb.maxMs, maxAttempts: rb.maxAttempts, random: platform.random });
    this.supervisor = new StreamSupervisor({
      platform,
      log: this.log.child('streams'),
      makeBackoff,
      negotiationTimeoutMs: opts.negotiationTimeoutMs,
      reconnect: opts.reconnect,
      actions: {
        request: (intent) => { this.request(intent).catch((e) => this.log.error('request failed', e)); },
        // Tell the server first, then close: the stop then reaches it before the DTLS close does.
        teardown: (intent, sendStop) => {
          if (sendStop) this.signaling?.send({ command: intent.kind === 'p2p' ? 'leave' : 'stop', streamId: intent.streamId });
          this.peers.close(intent.streamId);
        },
        attempt: (intent) => this.notify(intent.kind === 'publish' ? 'reconnection_attempt_for_publisher' : 'reconnection_attempt_for_player', intent.streamId),
        gaveUp: (intent, reason) => this.notify('reconnection_stopped', { streamId: intent.streamId, reason }),
        socketOpen: () => this.signaling?.isOpen ?? false,
      },
    });

    // Initial local media: a publisher opens its camera/microphone at once (like the official SDK).
    /** Settles once the first capture attempt is over (it never rejects). @type {Promise<unknown>} */
    this.mediaReady = !opts.isPlayMode && !opts.onlyDataChannel ? this.media.start() : Promise.resolve(false);

    /** @type {SignalingClient | null} */
    this.signaling = null;
    if (!platform.WebSocket) {
      // Deferred so that listeners added right after construction hear it too.
      Promise.resolve().then(() => this.raise(webSocketNotSupportedError('missing')));
    } else {
      const url = withTarget(opts.websocketUrl, opts.isPlayMode);
      this.signaling = new SignalingClient({
        url,
        platform,
        log: this.log.child('signal'),
        backoff: makeBackoff(),
        pingIntervalMs: opts.pingIntervalMs,
        pongTimeoutMs: opts.pongTimeoutMs,
        reconnect: opts.reconnect,
        handlers: {
          onOpen: (info) => this.onSocketOpen(info.reconnected),
          onMessage: (msg) => this.onServerMessage(msg),
          onClose: (event, info) => this.onSocketClose(event, info.willReconnect),
          onFailure: (event) => this.raise(webSocketNotConnectedError(url, event)),
        },
      });
      this.signaling.connect();
    }

    if (platform.mediaDevices && typeof platform.mediaDevices.getDisplayMedia === 'function') {
      Promise.resolve().then(() => this.notify('browser_screen_share_supported'));
    }
  }

  // ---------------------------------------------------------------- events

  /**
   * Listen to "error" or "info" events ({definition, message, streamId, data}). For code written
   * for the official SDK, a single function argument is also accepted: it is called as fn(info, obj)
   * for every info callback.
   * @param {'error' | 'info' | ((info: string, obj?: any) => void)} type
   * @param {(event: AdaptorEvent) => void} [listener]
   */
  addEventListener(type, listener) {
    if (typeof type === 'function') {
      this.infoListeners.push(type);
      return;
    }
    if ((type !== 'error' && type !== 'info') || typeof listener !== 'function') {
      throw new TypeError('addEventListener(type, listener): type is "error" or "info", listener a function');
    }
    this.events.on(type, listener);
  }

  /**
   * @param {'error' | 'info' | ((info: string, obj?: any) => void)} type
   * @param {(event: AdaptorEvent) => void} [listener]
   */
  removeEventListener(type, listener) {
    if (typeof type === 'function') {
      this.infoListeners = this.infoListeners.filter((f) => f !== type);
      return;
    }
    if (listener && (type === 'error' || type === 'info')) this.events.off(type, listener);
  }

  /**
   * Same as addEventListener("error" | "info", listener).
   * @param {'error' | 'info'} type
   * @param {(event: AdaptorEvent) => void} listener
   */
  on(type, listener) {
    this.addEventListener(type, listener);
  }

  /**
   * @param {'error' | 'info'} type
   * @param {(event: AdaptorEvent) => void} listener
   */
  off(type, listener) {
    this.removeEventListener(type, listener);
  }

  /**
   * Official-style error listener: fn(definition, message).
   * @param {(definition: string, message?: any) => void} listener
   */
  addErrorEventListener(listener) {
    this.errorListeners.push(listener);
  }

  /**
   * Raise an info callback and event.
   * @param {string} definition
   * @param {unknown} [obj]
   */
  notify(definition, obj) {
    if (definition !== 'pong') this.log.debug(`info ${definition}`);
    try {
      this.options.callback?.(definition, obj);
    } catch (e) {
      this.log.error(`callback("${definition}") threw:`, e);
    }
    for (const fn of this.infoListeners) {
      try {
        fn(definition, obj);
      } catch (e) {
        this.log.error('an info listener threw:', e);
      }
    }
    this.events.emit('info', { definition, message: describeInfo(definition), streamId: streamIdOf(obj), data: obj });
  }

  /**
   * Raise an error the SDK detected.
   * @param {TernError} err
   */
  raise(err) {
    this.log.warn(`${err.definition}: ${err.message}`);
    this.emitError(err.definition, err.message, err.message, err.streamId, err.data);
  }

  /**
   * @param {string} definition
   * @param {unknown} classic second argument of callbackError
   * @param {string} message
   * @param {string | undefined} streamId
   * @param {unknown} data
   */
  emitError(definition, classic, message, streamId, data) {
    try {
      this.options.callbackError?.(definition, classic);
    } catch (e) {
      this.log.error(`callbackError("${definition}") threw:`, e);
    }
    for (const fn of this.errorListeners) {
      try {
        fn(definition, classic);
      } catch (e) {
        this.log.error('an error listener threw:', e);
      }
    }
    this.events.emit('error', { definition, message, streamId, data });
  }

  // ---------------------------------------------------------------- signaling

  /**
   * Whether a call that needs the server can go ahead; raises WebSocketNotSupported when not.
   * @param {string} call
   */
  canSignal(call) {
    if (!this.signaling) {
      this.raise(webSocketNotSupportedError('missing'));
      return false;
    }
    if (this.signaling.isClosed) {
      this.raise(webSocketNotSupportedError('closed', call));
      return false;
    }
    return true;
  }

  /**
   * @param {string} call
   * @param {Record<string, unknown>} msg
   */
  sendCommand(call, msg) {
    if (!this.canSignal(call)) return false;
    return /** @type {SignalingClient} */ (this.signaling).send(msg);
  }

  /** @param {boolean} reconnected */
  onSocketOpen(reconnected) {
    const generation = ++this.openGeneration;
    if (!this.options.userDefinedIceServers) this.signaling?.send({ command: 'getIceServerConfig' });
    this.mediaReady.then(() => {
      if (generation !== this.openGeneration || !this.signaling?.isOpen) return;
      this.notify('initialized');
      if (reconnected) for (const msg of this.rooms.values()) this.signaling.send(msg);
      this.supervisor.socketUp();
    });
  }

  /**
   * @param {unknown} event
   * @param {boolean} willReconnect
   */
  onSocketClose(event, willReconnect) {
    this.openGeneration += 1;
    this.notify('closed', event);
    this.supervisor.socketDown();
    if (!willReconnect) {
      // Closed for good (closeWebSocket(), or reconnection gave up): nothing can be resumed.
      this.supervisor.clear();
      this.peers.closeAll();
    }
  }

  /** @param {Record<string, any>} msg */
  onServerMessage(msg) {
    const streamId = typeof msg.streamId === 'string' ? msg.streamId : '';
    switch (msg.command) {
      case 'start':
        this.onStart(streamId).catch((e) => this.log.error('start failed', e));
        break;
      case 'takeConfiguration':
        this.onDescription(streamId, msg.type, msg.sdp, msg.idMapping).catch((e) => this.log.error('takeConfiguration failed', e));
        break;
      case 'takeCandidate':
        this.peers.takeCandidate(streamId, msg.label, msg.id, msg.candidate);
        break;
      case 'stop':
        this.onServerStop(streamId);
        break;
      case 'error':
        this.onServerError(msg);
        break;
      case 'notification':
        this.onNotification(msg);
        break;
      case 'streamInformation':
      case 'roomInformation':
      case 'trackList':
      case 'peerMessageCommand':
        this.notify(msg.command, msg);
        break;
      case 'pong':
        this.notify('pong');
        break;
      case 'iceServerConfig':
        this.onIceServerConfig(msg);
        break;
      case 'connectWithNewId':
        if (streamId) this.join(streamId);
        break;
      default:
        this.log.debug(`ignored server command ${msg.command}`);
    }
  }

  /** @param {Record<string, any>} msg */
  onIceServerConfig(msg) {
    if (this.options.userDefinedIceServers) return;
    // Tern sends every server (its own TURN over UDP, TCP and TLS included)
    // as `iceServers`; the one-URI fields are for the official SDK.
    if (Array.isArray(msg.iceServers)) {
      this.serverIceServers = msg.iceServers
        .filter((s) => s && typeof s.urls === 'string' && /^(stun|turns?):/.test(s.urls))
        .map((s) => (typeof s.username === 'string'
          ? { urls: s.urls, username: s.username, credential: str(s.credential) }
          : { urls: s.urls }));
      return;
    }
    const uri = typeof msg.stunServerUri === 'string' ? msg.stunServerUri : '';
    if (uri.startsWith('stun:')) {
      this.serverIceServers = [{ urls: uri }];
    } else if (uri.startsWith('turn:') || uri.startsWith('turns:')) {
      this.serverIceServers = [{ urls: uri, username: str(msg.turnServerUsername), credential: str(msg.turnServerCredential) }];
    } else if (uri === '') {
      this.serverIceServers = [];
    } else {
      this.log.warn(`ignored the server's ICE server "${uri}" (not stun:, turn: or turns:)`);
    }
  }

  /** The RTCConfiguration for a new connection. */
  peerConfig() {
    const cfg = { ...this.options.peerconnectionConfig };
    if (!this.options.userDefinedIceServers && this.serverIceServers) cfg.iceServers = this.serverIceServers;
    return cfg;
  }

  /** @param {string} streamId */
  async onStart(streamId) {
    const intent = this.supervisor.get(streamId);
    if (!intent || intent.kind === 'play') {
      this.log.warn(`ignored "start" for ${streamId}: not publishing or joined under that id`);
      return;
    }
    this.supervisor.negotiating(streamId);
    try {
      this.peers.open(streamId, intent.kind === 'p2p' ? 'p2p' : 'publish', { offerer: true });
      await this.peers.offer(streamId);
    } catch (e) {
      this.negotiationFailed(streamId, e);
    }
  }

  /**
   * @param {string} streamId
   * @param {unknown} type
   * @param {unknown} sdp
   * @param {unknown} idMapping
   */
  async onDescription(streamId, type, sdp, idMapping) {
    if ((type !== 'offer' && type !== 'answer') || typeof sdp !== 'string') {
      this.log.warn(`ignored a takeConfiguration for ${streamId} without a valid type and sdp`);
      return;
    }
    const intent = this.supervisor.get(streamId);
    if (type === 'offer') {
      if (!this.peers.get(streamId)) {
        if (intent && intent.kind === 'publish') {
          this.log.warn(`ignored an offer for ${streamId}, which this page publishes`);
          return;
        }
        this.peers.open(streamId, intent && intent.kind === 'p2p' ? 'p2p' : 'play');
      }
      this.supervisor.negotiating(streamId);
    } else if (!this.peers.get(streamId)) {
      this.log.debug(`ignored an answer for ${streamId}: no connection (stopped meanwhile)`);
      return;
    }
    const mapping = idMapping && typeof idMapping === 'object' ? /** @type {Record<string, string>} */ (idMapping) : undefined;
    try {
      await this.peers.takeDescription(streamId, type, sdp, mapping);
    } catch (e) {
      this.negotiationFailed(streamId, e);
    }
  }

  /**
   * The browser could not create or apply a description: report it and stop this stream (the app
   * can publish/play again).
   * @param {string} streamId
   * @param {unknown} e
   */
  negotiationFailed(streamId, e) {
    const intent = this.supervisor.drop(streamId);
    if (intent && this.signaling?.isOpen) {
      this.signaling.send({ command: intent.kind === 'p2p' ? 'leave' : 'stop', streamId });
    }
    this.peers.close(streamId);
    if (e instanceof TernError) this.raise(e);
    else this.log.error(`stream ${streamId}: negotiation failed:`, e);
  }

  /** @param {string} streamId */
  onServerStop(streamId) {
    const intent = this.supervisor.get(streamId);
    this.peers.close(streamId);
    if (intent && intent.kind === 'p2p') this.supervisor.waiting(streamId);
    else if (intent) this.supervisor.drop(streamId);
  }

  /** @param {Record<string, any>} msg */
  onServerError(msg) {
    const definition = typeof msg.definition === 'string' ? msg.definition : 'error';
    const streamId = typeof msg.streamId === 'string' ? msg.streamId : undefined;
    // Decide first, so that an app calling publish()/play() again from its error callback starts afresh.
    this.supervisor.serverError(streamId ?? '', definition, msg.information);
    this.log.warn(`server error ${definition}${streamId ? ` for ${streamId}` : ''}`);
    this.emitError(definition, msg, serverErrorSentence(msg), streamId, msg);
  }

  /** @param {Record<string, any>} msg */
  onNotification(msg) {
    const definition = typeof msg.definition === 'string' ? msg.definition : '';
    const streamId = typeof msg.streamId === 'string' ? msg.streamId : '';
    switch (definition) {
      case 'publish_started':
      case 'play_started':
      case 'session_restored':
        this.supervisor.started(streamId);
        break;
      case 'publish_finished':
      case 'play_finished': {
        const r = this.supervisor.finished(streamId);
        if (r === 'stale') {
          this.log.debug(`${definition} for ${streamId} answers a stop sent while retrying`);
          return;
        }
        if (r === 'ended') this.peers.close(streamId);
        break;
      }
      case 'joined':
        this.supervisor.waiting(streamId);
        break;
      case 'joinedTheRoom':
        if (typeof msg.room === 'string') this.roomName = msg.room;
        break;
      default:
        break;
    }
    this.notify(definition, msg);
    if (definition === 'server_will_stop') this.signaling?.reconnectNow('server_will_stop');
  }

  /**
   * Send (or prepare then send) the command of a stream intent.
   * @param {import('./supervisor.js').Intent} intent
   */
  async request(intent) {
    if (this.preparing.has(intent)) return;
    this.preparing.add(intent);
    try {
      if (intent.kind !== 'play') await this.mediaReady;
      let msg = intent.request;
      if (intent.kind === 'publish') {
        const needsMedia = !this.options.onlyDataChannel && this.media.wantsMedia;
        if (needsMedia && !this.media.stream) {
          // The first capture failed (and was reported); publishing needs it, so ask again.
          await this.media.start();
          if (!this.media.stream) {
            this.supervisor.drop(intent.streamId);
            return;
          }
        }
        msg = {
          ...msg,
          video: !this.options.onlyDataChannel && this.media.hasVideo,
          audio: !this.options.onlyDataChannel && this.media.hasAudio,
        };
      }
      if (this.supervisor.get(intent.streamId) !== intent || intent.state !== 'pending') return;
      if (!this.signaling?.isOpen) return; // stays pending: sent when the socket opens
      this.signaling.send(msg);
      this.supervisor.sent(intent);
    } finally {
      this.preparing.delete(intent);
    }
  }

  /**
   * @param {string} streamId
   * @param {RTCIceConnectionState} state
   */
  onIceState(streamId, state) {
    this.notify('ice_connection_state_changed', { state, streamId });
    this.supervisor.iceState(streamId, state);
    const entry = this.peers.get(streamId);
    if (state === 'connected' && entry && entry.role !== 'play') {
      // Simulcast layers keep their own limits unless the app asked for a cap.
      const layered = entry.role === 'publish' && this.options.simulcastLayers !== null;
      const kbps = layered && !this.options.bandwidthGiven ? 'unlimited' : this.options.bandwidth;
      this.peers.applySenderLimits(streamId, kbps).catch(() => {});
    }
  }

  /**
   * @param {string} streamId
   * @param {RTCTrackEvent} event
   * @param {string} trackId
   */
  onRemoteTrack(streamId, event, trackId) {
    let stream = event.streams[0];
    if (!stream) {
      const MS = this.platform.MediaStream;
      stream = this.remoteStreams.get(streamId) ?? (MS ? new MS() : /** @type {any} */ (undefined));
      if (stream) {
        stream.addTrack(event.track);
        this.remoteStreams.set(streamId, stream);
      }
    }
    const video = this.remoteVideo();
    if (video) {
      if (video.srcObject !== stream) video.srcObject = stream ?? null;
      return;
    }
    const obj = { stream, track: event.track, streamId, trackId };
    this.notify('newTrackAvailable', obj);
    // Kept for code written for older official SDKs.
    this.notify('newStreamAvailable', obj);
  }

  /** @returns {HTMLVideoElement | null} */
  remoteVideo() {
    if (this.options.remoteVideoElement) return this.options.remoteVideoElement;
    const id = this.options.remoteVideoId;
    return id && this.platform.document ? /** @type {HTMLVideoElement | null} */ (this.platform.document.getElementById(id)) : null;
  }

  /** @returns {HTMLVideoElement | null} */
  localVideo() {
    if (this.options.localVideoElement) return this.options.localVideoElement;
    const id = this.options.localVideoId;
    return id && this.platform.document ? /** @type {HTMLVideoElement | null} */ (this.platform.document.getElementById(id)) : null;
  }

  /** @param {MediaStream | null} stream */
  showLocalStream(stream) {
    const el = this.localVideo();
    if (!el) return;
    el.muted = true;
    if (el.srcObject !== stream) el.srcObject = stream;
  }

  // ---------------------------------------------------------------- publish / play / stop

  /**
   * Publish the local camera/microphone (or only a data channel) as `streamId`.
   * @param {string} streamId
   * @param {string} [token]
   * @param {string} [subscriberId]
   * @param {string} [subscriberCode]
   * @param {string} [streamName]
   * @param {string} [mainTrack] room (main track) this stream joins as a subtrack
   * @param {string} [metaData]
   * @param {string} [role]
   */
  publish(streamId, token, subscriberId, subscriberCode, streamName, mainTrack, metaData, role) {
    if (!this.canSignal('publish')) return;
    const id = str(streamId);
    const existing = this.supervisor.get(id);
    if (existing && existing.kind === 'publish') {
      this.log.info(`publish(${id}) ignored: already publishing or retrying that stream`);
      return;
    }
    this.publishStreamId = id;
    /** @type {Record<string, unknown>} */
    const request = {
      command: 'publish',
      streamId: id,
      subscriberId: str(subscriberId),
      subscriberCode: str(subscriberCode),
      streamName: str(streamName),
      mainTrack: str(mainTrack),
      metaData: str(metaData),
      role: str(role),
    };
    if (token !== undefined && token !== null) request.token = token;
    const intent = this.supervisor.track('publish', id, request);
    this.supervisor.actions.request(intent);
  }

  /**
   * Play a stream: play(streamId, token, roomId, enableTracks, subscriberId, subscriberCode, metaData, role)
   * or play({streamId, token, roomId, enableTracks, subscriberId, subscriberName, subscriberCode, metaData, role, disableTracksByDefault}).
   * @param {string | {streamId: string, token?: string, roomId?: string, enableTracks?: string[], subscriberId?: string,
   *   subscriberName?: string, subscriberCode?: string, metaData?: string, role?: string, disableTracksByDefault?: boolean}} streamIdOrParams
   * @param {string} [token]
   * @param {string} [roomId]
   * @param {string[]} [enableTracks]
   * @param {string} [subscriberId]
   * @param {string} [subscriberCode]
   * @param {string} [metaData]
   * @param {string} [role]
   */
  play(streamIdOrParams, token, roomId, enableTracks, subscriberId, subscriberCode, metaData, role) {
    if (!this.canSignal('play')) return;
    const p = streamIdOrParams && typeof streamIdOrParams === 'object'
      ? streamIdOrParams
      : { streamId: streamIdOrParams, token, roomId, enableTracks, subscriberId, subscriberCode, metaData, role };
    const id = str(p.streamId);
    const existing = this.supervisor.get(id);
    if (existing && existing.kind === 'play') {
      this.log.info(`play(${id}) ignored: already playing or retrying that stream`);
      return;
    }
    /** @type {Record<string, unknown>} */
    const request = {
      command: 'play',
      streamId: id,
      token: str(p.token),
      room: str(p.roomId),
      trackList: Array.isArray(p.enableTracks) ? p.enableTracks : [],
      subscriberId: str(p.subscriberId),
      subscriberCode: str(p.subscriberCode),
      viewerInfo: str(p.metaData),
      role: str(p.role),
      userPublishId: str(this.publishStreamId),
    };
    if (typeof streamIdOrParams === 'object') {
      request.subscriberName = str(/** @type {{subscriberName?: string}} */ (p).subscriberName);
      request.disableTracksByDefault = /** @type {{disableTracksByDefault?: boolean}} */ (p).disableTracksByDefault === true;
    }
    const intent = this.supervisor.track('play', id, request);
    this.supervisor.actions.request(intent);
  }

  /**
   * Stop publishing or playing `streamId`. The server answers publish_finished / play_finished.
   * @param {string} streamId
   */
  stop(streamId) {
    const id = str(streamId);
    this.supervisor.drop(id);
    // The server hears "stop" before the connection's DTLS close, so it ends the stream at once
    // instead of keeping it for a reconnection.
    if (this.signaling?.isOpen) this.signaling.send({ command: 'stop', streamId: id });
    this.peers.close(id);
    this.remoteStreams.delete(id);
  }

  /**
   * Join a peer-to-peer session (two pages, relayed by the server).
   * @param {string} streamId
   */
  join(streamId) {
    if (!this.canSignal('join')) return;
    const id = str(streamId);
    const request = { command: 'join', streamId: id, multiPeer: false, mode: this.options.isPlayMode ? 'play' : 'both' };
    const intent = this.supervisor.track('p2p', id, request);
    this.supervisor.actions.request(intent);
  }

  /**
   * Leave a peer-to-peer session.
   * @param {string} streamId
   */
  leave(streamId) {
    const id = str(streamId);
    this.supervisor.drop(id);
    if (this.signaling?.isOpen) this.signaling.send({ command: 'leave', streamId: id });
    this.peers.close(id);
  }

  /**
   * Join a conference room. The server answers joinedTheRoom.
   * @param {string} roomName
   * @param {string} [streamId]
   * @param {string} [mode] "legacy", "mcu", "amcu" or "multitrack"
   * @param {string} [streamName]
   * @param {string} [role]
   * @param {string} [metadata]
   */
  joinRoom(roomName, streamId, mode, streamName, role, metadata) {
    if (!this.canSignal('joinRoom')) return;
    this.roomName = roomName;
    const msg = { command: 'joinRoom', room: roomName, mainTrack: roomName, streamId, mode, streamName, role, metadata };
    if (typeof roomName === 'string' && roomName) this.rooms.set(roomName, msg);
    /** @type {SignalingClient} */ (this.signaling).send(msg);
  }

  /**
   * Leave a conference room: closes this adaptor's connections, as the official SDK does.
   * @param {string} roomName
   * @param {string} [streamId]
   */
  leaveFromRoom(roomName, streamId) {
    if (!this.canSignal('leaveFromRoom')) return;
    this.rooms.delete(roomName);
    this.supervisor.clear();
    this.peers.closeAll();
    this.remoteStreams.clear();
    /** @type {SignalingClient} */ (this.signaling).send({ command: 'leaveFromRoom', room: roomName, mainTrack: roomName, streamId });
  }

  // ---------------------------------------------------------------- queries and controls

  /**
   * @param {string} roomName
   * @param {string} [streamId] this participant's stream (left out of the answer)
   */
  getRoomInfo(roomName, streamId) {
    this.sendCommand('getRoomInfo', { command: 'getRoomInfo', room: roomName, streamId });
  }

  /** @param {string} streamId */
  getStreamInfo(streamId) {
    this.sendCommand('getStreamInfo', { command: 'getStreamInfo', streamId });
  }

  /**
   * Ask for the subtracks of a main track (answer: trackList).
   * @param {string} streamId
   * @param {string} [token]
   */
  getTrackList(streamId, token) {
    this.sendCommand('getTrackList', { command: 'getTrackList', streamId, token });
  }

  /**
   * The official SDK's name for getTrackList.
   * @param {string} streamId
   * @param {string} [token]
   */
  getTracks(streamId, token) {
    this.getTrackList(streamId, token);
  }

  /**
   * Start or stop receiving one subtrack of a main track.
   * @param {string} mainTrackId
   * @param {string} trackId
   * @param {boolean} enabled
   */
  enableTrack(mainTrackId, trackId, enabled) {
    this.sendCommand('enableTrack', { command: 'enableTrack', streamId: mainTrackId, trackId, enabled });
  }

  /**
   * Ask the server for a fixed quality (a height from the stream's renditions; 0 = automatic).
   * @param {string} streamId
   * @param {number} resolution
   */
  forceStreamQuality(streamId, resolution) {
    this.sendCommand('forceStreamQuality', { command: 'forceStreamQuality', streamId, streamHeight: resolution });
  }

  /**
   * @param {string} streamId
   * @param {string} trackId
   * @param {boolean} enabled
   */
  toggleVideo(streamId, trackId, enabled) {
    this.sendCommand('toggleVideo', { command: 'toggleVideo', streamId, trackId, enabled });
  }

  /**
   * @param {string} streamId
   * @param {string} trackId
   * @param {boolean} enabled
   */
  toggleAudio(streamId, trackId, enabled) {
    this.sendCommand('toggleAudio', { command: 'toggleAudio', streamId, trackId, enabled });
  }

  /** @param {string} streamId */
  getBroadcastObject(streamId) {
    this.sendCommand('getBroadcastObject', { command: 'getBroadcastObject', streamId });
  }

  /**
   * @param {string} streamId
   * @param {string} metaData
   */
  updateStreamMetaData(streamId, metaData) {
    this.sendCommand('updateStreamMetaData', { command: 'updateStreamMetaData', streamId, metaData });
  }

  /**
   * @param {string} streamId
   * @param {string} [role]
   * @param {number} [offset]
   * @param {number} [size]
   */
  getSubtracks(streamId, role, offset, size) {
    this.sendCommand('getSubtracks', { command: 'getSubtracks', streamId, role, offset, size });
  }

  /**
   * @param {string} streamId
   * @param {string} [role]
   * @param {string} [status]
   */
  getSubtrackCount(streamId, role, status) {
    this.sendCommand('getSubtrackCount', { command: 'getSubtracksCount', streamId, role, status });
  }

  /**
   * Send a message to the other peer of a P2P session, through the server.
   * @param {string} streamId
   * @param {string} definition
   * @param {unknown} data
   */
  peerMessage(streamId, definition, data) {
    this.sendCommand('peerMessage', { command: 'peerMessageCommand', streamId, definition, data });
  }

  /**
   * Send text or binary data on a stream's data channel. Returns whether it was sent.
   * @param {string} streamId
   * @param {string | ArrayBuffer | ArrayBufferView | Blob} data
   * @returns {boolean | Promise<boolean>}
   */
  sendData(streamId, data) {
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      return data.arrayBuffer().then((buf) => /** @type {boolean} */ (this.sendData(streamId, buf)));
    }
    const r = this.peers.send(str(streamId), /** @type {string | ArrayBuffer | ArrayBufferView} */ (data));
    if (r !== 'sent') {
      this.log.warn(`sendData(${streamId}) dropped: ${r === 'no-connection' ? 'no connection for that stream' : 'its data channel is not open yet'}`);
    }
    return r === 'sent';
  }

  // ---------------------------------------------------------------- local media

  /**
   * Start the microphone. Raises AudioAlreadyActive when one is already live.
   * @param {MediaTrackConstraints | boolean} [constraints]
   * @returns {Promise<boolean>}
   */
  startAudio(constraints) {
    return this.media.startAudio(constraints);
  }

  /**
   * Start the camera. Raises VideoAlreadyActive when a camera or screen is already live.
   * @param {MediaTrackConstraints | boolean} [constraints]
   * @returns {Promise<boolean>}
   */
  startVideo(constraints) {
    return this.media.startVideo(constraints);
  }

  muteLocalMic() {
    this.media.muteMic();
  }

  unmuteLocalMic() {
    this.media.unmuteMic();
  }

  /**
   * Send black frames and release the camera.
   * @param {string} [_streamId] kept for the official signature
   */
  turnOffLocalCamera(_streamId) {
    return this.media.turnOffCamera();
  }

  /** @param {string} [_streamId] */
  turnOnLocalCamera(_streamId) {
    return this.media.turnOnCamera();
  }

  /**
   * @param {string} [_streamId]
   * @param {string} [deviceId]
   */
  switchVideoCameraCapture(_streamId, deviceId) {
    return this.media.switchCamera(deviceId);
  }

  /**
   * @param {string} _streamId
   * @param {string} deviceId
   */
  switchAudioInputSource(_streamId, deviceId) {
    return this.media.switchMic(deviceId);
  }

  /**
   * Send the screen instead of the camera. A refused picker raises screen_share_permission_denied
   * (the camera stays on); "Stop sharing" raises screen_share_stopped and turns the camera back on.
   * @param {string} [_streamId]
   */
  switchDesktopCapture(_streamId) {
    return this.media.shareScreen(false);
  }

  /**
   * Send the screen with the camera in the top-right corner.
   * @param {string} [_streamId]
   */
  switchDesktopCaptureWithCamera(_streamId) {
    return this.media.shareScreen(true);
  }

  /** Stop the local camera, microphone and screen. */
  closeStream() {
    this.media.close();
  }

  /** List cameras and microphones (also raised as the available_devices callback). */
  getDevices() {
    return this.media.listDevices();
  }

  /** The local stream being shown and sent, if any. */
  get localStream() {
    return this.media.stream;
  }

  // ---------------------------------------------------------------- connections

  /**
   * Close every connection and the socket. Create a new adaptor to connect again; calls that
   * need the server raise WebSocketNotSupported from now on.
   */
  closeWebSocket() {
    for (const t of this.statsTimers.values()) this.platform.clearInterval(t);
    this.statsTimers.clear();
    this.supervisor.clear();
    this.peers.closeAll();
    this.rooms.clear();
    this.signaling?.close();
  }

  /**
   * Statistics of a stream's connection (also raised as updated_stats); false when there is none.
   * @param {string} streamId
   * @returns {Promise<import('./stats.js').PeerStats | false>}
   */
  async getStats(streamId) {
    try {
      const s = await this.peers.stats(str(streamId));
      if (!s) return false;
      this.notify('updated_stats', s);
      return s;
    } catch (e) {
      this.log.debug('getStats failed', e);
      return false;
    }
  }

  /**
   * Call getStats every periodMs (updated_stats callbacks).
   * @param {string} streamId
   * @param {number} [periodMs]
   */
  enableStats(streamId, periodMs = 5000) {
    if (this.statsTimers.has(streamId)) return;
    this.statsTimers.set(streamId, this.platform.setInterval(() => { this.getStats(streamId); }, Math.max(250, periodMs)));
  }

  /** @param {string} streamId */
  disableStats(streamId) {
    const t = this.statsTimers.get(streamId);
    if (t !== undefined) this.platform.clearInterval(t);
    this.statsTimers.delete(streamId);
  }

  /**
   * Change the video bitrate cap of a publishing stream (kbps or "unlimited"). With simulcast
   * every layer is held to the lower of its own maxBitrate and the cap.
   * @param {number | 'unlimited'} bandwidth
   * @param {string} streamId
   */
  changeBandwidth(bandwidth, streamId) {
    this.options.bandwidth = bandwidth;
    this.options.bandwidthGiven = true;
    return this.peers.applySenderLimits(streamId, bandwidth);
  }

  /** @param {string} streamId */
  iceConnectionState(streamId) {
    return this.peers.get(streamId)?.pc.iceConnectionState ?? null;
  }

  /** @param {string} streamId */
  signallingState(streamId) {
    return this.peers.get(streamId)?.pc.signalingState ?? null;
  }

  /**
   * The RTCPeerConnection of a stream, if any.
   * @param {string} streamId
   */
  getPeerConnection(streamId) {
    return this.peers.get(streamId)?.pc ?? null;
  }

  /** Stream id → RTCPeerConnection, for code written for the official SDK (a snapshot). */
  get remotePeerConnection() {
    /** @type {Record<string, RTCPeerConnection>} */
    const out = {};
    for (const id of this.peers.ids()) {
      const e = this.peers.get(id);
      if (e) out[id] = e.pc;
    }
    return out;
  }

  /**
   * Close one connection without telling the server (the official SDK's name).
   * @param {string} streamId
   */
  closePeerConnection(streamId) {
    this.supervisor.drop(streamId);
    this.peers.close(streamId);
  }
}

export default WebRTCAdaptor;
