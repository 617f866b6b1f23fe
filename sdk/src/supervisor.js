// What the app asked for, per stream id, and when to ask the server again. The adaptor tells
// the supervisor what happened (request sent, ICE state, server notification or error, socket
// up/down); the supervisor decides whether to wait, retry after a backoff delay, or give up,
// and calls back into the adaptor to act. All timing goes through the platform clock.
//
//   pending ──sent──▶ requested ──start/offer──▶ negotiating ──ICE connected──▶ connected ──*_started──▶ started
//      ▲                 │ no_stream_exist (server keeps the player waiting) ──▶ waiting ──offer──▶ negotiating
//      │                 └─ ICE failed / no progress in negotiationTimeoutMs / retryable error ──▶ retrying
//      └─── socket reopened ◀── suspended ◀── socket dropped (publish/play connections are gone with it)
//
// Retries use a per-stream Backoff (reset once the stream connects), so nothing loops tightly.

/** @typedef {'publish' | 'play' | 'p2p'} IntentKind */
/** @typedef {'pending' | 'requested' | 'negotiating' | 'connected' | 'started' | 'waiting' | 'retrying' | 'suspended'} IntentState */

/**
 * @typedef {object} Intent
 * @property {string} streamId
 * @property {IntentKind} kind
 * @property {Record<string, unknown>} request the command's fields, re-sent on every attempt
 * @property {IntentState} state
 * @property {import('./backoff.js').Backoff} backoff
 * @property {unknown} timer the watchdog, grace or retry timer
 * @property {boolean} resuming whether the current attempt is a retry
 * @property {number} staleFinishes *_finished replies still expected for stops the supervisor sent
 */

/**
 * @typedef {object} SupervisorActions
 * @property {(intent: Intent) => void} request send the command (when the socket is open)
 * @property {(intent: Intent, sendStop: boolean) => void} teardown close the connection; tell the server when sendStop
 * @property {(intent: Intent) => void} attempt a retry starts (reconnection_attempt_for_* info)
 * @property {(intent: Intent, reason: string) => void} gaveUp no more retries for this stream
 * @property {() => boolean} socketOpen
 */

// Server errors worth asking again for after a backoff: the condition passes by itself.
const TRANSIENT = new Set(['highResourceUsage', 'not_initialized_yet', 'data_store_not_available', 'publishTimeoutError',
  'noPacketReceivedForTimeoutDuration']);
// Errors that only mean "the server still holds the previous attempt" while a retry runs.
const STALE_SESSION = new Set(['streamIdInUse', 'already_publishing', 'already_playing']);
/** The `information` of no_stream_exist that says the server will send the offer when the stream goes live. */
export const SERVER_KEEPS_WAITING = 'stream_not_exist_or_not_streaming';

export class StreamSupervisor {
  /**
   * @param {object} opts
   * @param {import('./platform.js').Platform} opts.platform
   * @param {import('./logger.js').Logger} opts.log
   * @param {() => import('./backoff.js').Backoff} opts.makeBackoff
   * @param {number} opts.negotiationTimeoutMs
   * @param {number} [opts.disconnectGraceMs] how long ICE may stay "disconnected" before a retry
   * @param {boolean} opts.reconnect whether to retry at all (reconnectIfRequiredFlag)
   * @param {SupervisorActions} opts.actions
   */
  constructor({ platform, log, makeBackoff, negotiationTimeoutMs, disconnectGraceMs = 5000, reconnect, actions }) {
    this.platform = platform;
    this.log = log;
    this.makeBackoff = makeBackoff;
    this.negotiationTimeoutMs = negotiationTimeoutMs;
    this.disconnectGraceMs = disconnectGraceMs;
    this.reconnect = reconnect;
    this.actions = actions;
    /** @type {Map<string, Intent>} */
    this.intents = new Map();
  }

  /**
   * Remember a new request (replacing any earlier one for the id).
   * @param {IntentKind} kind
   * @param {string} streamId
   * @param {Record<string, unknown>} request
   */
  track(kind, streamId, request) {
    this.drop(streamId);
    /** @type {Intent} */
    const intent = {
      streamId, kind, request, state: 'pending', backoff: this.makeBackoff(), timer: null, resuming: false, staleFinishes: 0,
    };
    this.intents.set(streamId, intent);
    return intent;
  }

  /** @param {string} streamId */
  get(streamId) {
    return this.intents.get(streamId);
  }

  all() {
    return [...this.intents.values()];
  }

  /**
   * Forget a stream (the app stopped it, or it ended).
   * @param {string} streamId
   */
  drop(streamId) {
    const intent = this.intents.get(streamId);
    if (!intent) return undefined;
    this.clearTimer(intent);
    this.intents.delete(streamId);
    return intent;
  }

  /**
   * The command went out: expect progress within the negotiation timeout.
   * @param {Intent} intent
   */
  sent(intent) {
    intent.state = 'requested';
    this.arm(intent, this.negotiationTimeoutMs, () => this.retry(intent, `no connection ${this.negotiationTimeoutMs} ms after the request`));
  }

  /**
   * The server answered with start (publish, P2P) or an offer (play, P2P).
   * @param {string} streamId
   */
  negotiating(streamId) {
    const intent = this.intents.get(streamId);
    if (!intent || intent.state === 'retrying' || intent.state === 'suspended') return;
    const wasWaiting = intent.state === 'waiting' || intent.state === 'connected' || intent.state === 'started';
    intent.state = 'negotiating';
    if (wasWaiting || intent.timer === null) {
      this.arm(intent, this.negotiationTimeoutMs, () => this.retry(intent, `no connection ${this.negotiationTimeoutMs} ms after the offer`));
    }
  }

  /**
   * @param {string} streamId
   * @param {RTCIceConnectionState} state
   */
  iceState(streamId, state) {
    const intent = this.intents.get(streamId);
    if (!intent || intent.state === 'retrying' || intent.state === 'suspended') return;
    if (state === 'connected' || state === 'completed') {
      this.clearTimer(intent);
      intent.backoff.reset();
      // Replies to our retry stops come within milliseconds; once connected, a finish is real.
      intent.staleFinishes = 0;
      if (intent.state !== 'started') intent.state = 'connected';
    } else if (state === 'failed') {
      this.retry(intent, 'ICE failed');
    } else if (state === 'disconnected') {
      this.arm(intent, this.disconnectGraceMs, () => this.retry(intent, `ICE disconnected for ${this.disconnectGraceMs} ms`));
    }
  }

  /**
   * publish_started / play_started / session_restored.
   * @param {string} streamId
   */
  started(streamId) {
    const intent = this.intents.get(streamId);
    if (!intent || intent.state === 'retrying' || intent.state === 'suspended') return;
    intent.state = 'started';
    intent.resuming = false;
    intent.staleFinishes = 0;
    intent.backoff.reset();
    this.clearTimer(intent);
  }

  /**
   * Nothing to connect to yet: a player before the stream is live (the server sends the offer
   * later), or a P2P peer alone in its session.
   * @param {string} streamId
   */
  waiting(streamId) {
    const intent = this.intents.get(streamId);
    if (!intent) return;
    this.clearTimer(intent);
    intent.state = 'waiting';
  }

  /**
   * publish_finished / play_finished from the server. Returns "stale" for the reply to a stop
   * the supervisor sent itself, "ended" when the stream really ended (it is forgotten).
   * @param {string} streamId
   * @returns {'stale' | 'ended' | 'unknown'}
   */
  finished(streamId) {
    const intent = this.intents.get(streamId);
    if (!intent) return 'unknown';
    if (intent.staleFinishes > 0) {
      intent.staleFinishes -= 1;
      return 'stale';
    }
    if (intent.state === 'retrying' || intent.state === 'suspended' || intent.state === 'pending') return 'stale';
    this.drop(streamId);
    return 'ended';
  }

  /**
   * An error from the server about a stream. Decides what the stream does next.
   * @param {string} streamId
   * @param {string} definition
   * @param {unknown} information
   * @returns {'retry' | 'wait' | 'fail' | 'ignore'}
   */
  serverError(streamId, definition, information) {
    const intent = this.intents.get(streamId);
    if (!intent) return 'ignore';
    // Errors only matter while a request is in flight; later ones (e.g. a getStreamInfo reply) do not end the stream.
    if (intent.state !== 'requested' && intent.state !== 'negotiating') return 'ignore';
    if (definition === 'no_stream_exist' && intent.kind === 'play') {
      if (information === SERVER_KEEPS_WAITING) {
        this.waiting(streamId);
        return 'wait';
      }
      this.retry(intent, 'the stream is not live yet');
      return 'retry';
    }
    if (TRANSIENT.has(definition) || (intent.resuming && STALE_SESSION.has(definition))) {
      this.retry(intent, `server error ${definition}`);
      return 'retry';
    }
    this.drop(streamId);
    this.actions.teardown(intent, false);
    return 'fail';
  }

  /**
   * Tear the connection down and ask again after the backoff delay.
   * @param {Intent} intent
   * @param {string} reason
   */
  retry(intent, reason) {
    if (this.intents.get(intent.streamId) !== intent) return;
    this.clearTimer(intent);
    const sendStop = this.actions.socketOpen();
    this.actions.teardown(intent, sendStop);
    if (sendStop && intent.kind !== 'p2p') intent.staleFinishes += 1;
    const delay = this.reconnect ? intent.backoff.next() : null;
    if (delay === null) {
      this.drop(intent.streamId);
      this.log.warn(`stream ${intent.streamId}: ${reason}; not retrying${this.reconnect ? ` after ${intent.backoff.attempts} attempts` : ''}`);
      this.actions.gaveUp(intent, reason);
      return;
    }
    this.log.info(`stream ${intent.streamId}: ${reason}; asking again in ${delay} ms`);
    intent.state = 'retrying';
    this.arm(intent, delay, () => {
      if (this.actions.socketOpen()) this.resume(intent);
      else intent.state = 'suspended';
    });
  }

  /** The socket dropped: publish/play connections died with it; wait for the socket. */
  socketDown() {
    for (const intent of this.intents.values()) {
      this.clearTimer(intent);
      intent.staleFinishes = 0;
      if (intent.state === 'pending') continue;
      // A P2P call is browser to browser: it survives the signaling socket.
      if (intent.kind !== 'p2p') this.actions.teardown(intent, false);
      intent.state = 'suspended';
    }
  }

  /** The socket (re)opened: send what waited, resume what the drop interrupted. */
  socketUp() {
    for (const intent of [...this.intents.values()]) {
      if (intent.state === 'pending') {
        this.actions.request(intent);
      } else if (intent.state === 'suspended') {
        if (this.reconnect) {
          this.resume(intent);
        } else {
          this.drop(intent.streamId);
          this.actions.gaveUp(intent, 'the connection to the server dropped');
        }
      }
    }
  }

  /** @param {Intent} intent */
  resume(intent) {
    if (this.intents.get(intent.streamId) !== intent) return;
    intent.resuming = true;
    intent.state = 'pending';
    this.actions.attempt(intent);
    this.actions.request(intent);
  }

  /**
   * @param {Intent} intent
   * @param {number} ms
   * @param {() => void} fn
   */
  arm(intent, ms, fn) {
    this.clearTimer(intent);
    intent.timer = this.platform.setTimeout(() => {
      intent.timer = null;
      if (this.intents.get(intent.streamId) === intent) fn();
    }, ms);
  }

  /** @param {Intent} intent */
  clearTimer(intent) {
    if (intent.timer !== null) {
      this.platform.clearTimeout(intent.timer);
      intent.timer = null;
    }
  }

  /** Forget everything (closeWebSocket). */
  clear() {
    for (const intent of this.intents.values()) this.clearTimer(intent);
    this.intents.clear();
  }
}
