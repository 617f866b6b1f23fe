// The signaling connection: one WebSocket carrying JSON messages, a keep-alive ping, and
// reconnection with backoff when the socket drops. It knows nothing about streams; the
// adaptor decides what to resume once the socket is back.
//
// States: idle → connecting → open; on an unexpected close → waiting (a reconnect is
// scheduled) → connecting …; close() or an exhausted backoff → closed (for good).

/** @typedef {'idle' | 'connecting' | 'open' | 'waiting' | 'closed'} SignalingState */

/**
 * @typedef {object} SignalingHandlers
 * @property {(info: {reconnected: boolean}) => void} onOpen every time a socket opens
 * @property {(msg: Record<string, any>) => void} onMessage one parsed server message
 * @property {(event: unknown, info: {willReconnect: boolean}) => void} onClose every time a socket closes
 * @property {(event: unknown) => void} onFailure the first failed attempt of a series (the server cannot be reached)
 */

const MAX_QUEUE = 200;

export class SignalingClient {
  /**
   * @param {object} opts
   * @param {string} opts.url
   * @param {import('./platform.js').Platform} opts.platform
   * @param {import('./logger.js').Logger} opts.log
   * @param {import('./backoff.js').Backoff} opts.backoff
   * @param {number} opts.pingIntervalMs
   * @param {number} opts.pongTimeoutMs a socket that received nothing for this long is replaced
   * @param {boolean} opts.reconnect reopen after an unexpected close
   * @param {SignalingHandlers} opts.handlers
   */
  constructor({ url, platform, log, backoff, pingIntervalMs, pongTimeoutMs, reconnect, handlers }) {
    this.url = url;
    this.platform = platform;
    this.log = log;
    this.backoff = backoff;
    this.pingIntervalMs = pingIntervalMs;
    this.pongTimeoutMs = pongTimeoutMs;
    this.reconnect = reconnect;
    this.handlers = handlers;
    /** @type {SignalingState} */
    this.state = 'idle';
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {string[]} */
    this.queue = [];
    this.everOpened = false;
    this.failureReported = false;
    this.lastReceivedAt = 0;
    /** When the oldest ping still without any answer went out (null: none). @type {number | null} */
    this.unansweredPingSince = null;
    /** @type {unknown} */
    this.pingTimer = null;
    /** @type {unknown} */
    this.retryTimer = null;
    /** Number of sockets created, for tests and diagnostics. */
    this.attempts = 0;
  }

  get isOpen() {
    return this.state === 'open';
  }

  /** Whether the connection is gone for good (closed by the app, or reconnection gave up). */
  get isClosed() {
    return this.state === 'closed';
  }

  /** Open the socket (no-op while connecting or open, or after close()). */
  connect() {
    if (this.state === 'connecting' || this.state === 'open' || this.state === 'closed') return;
    const WS = this.platform.WebSocket;
    if (!WS) throw new Error('SignalingClient.connect: no WebSocket on this platform');
    this.clearRetry();
    this.state = 'connecting';
    this.attempts += 1;
    this.log.debug(`connecting to ${this.url} (attempt ${this.attempts})`);
    let socket;
    try {
      socket = new WS(this.url);
    } catch (e) {
      // A malformed URL throws synchronously (SyntaxError); treat it as a failed attempt.
      this.log.warn(`cannot open a WebSocket to ${this.url}:`, e);
      this.socket = null;
      this.reportFailure(e);
      this.afterClose(e);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.state = 'open';
      this.failureReported = false;
      this.backoff.reset();
      this.lastReceivedAt = this.platform.now();
      this.unansweredPingSince = null;
      this.startPing();
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.log.debug(reconnected ? 'socket reopened' : 'socket open');
      const queued = this.queue;
      this.queue = [];
      for (const text of queued) socket.send(text);
      this.handlers.onOpen({ reconnected });
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.lastReceivedAt = this.platform.now();
      this.unansweredPingSince = null;
      let msg;
      try {
        msg = JSON.parse(String(event.data));
      } catch {
        this.log.warn('ignored a server frame that is not JSON:', String(event.data).slice(0, 200));
        return;
      }
      if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof msg.command !== 'string') {
        this.log.warn('ignored a server frame without a command:', String(event.data).slice(0, 200));
        return;
      }
      this.handlers.onMessage(msg);
    };
    socket.onerror = (event) => {
      if (this.socket !== socket) return;
      this.reportFailure(event);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.afterClose(event);
    };
  }

  /**
   * Send one message. While the socket is (re)connecting the message waits in a bounded queue
   * and goes out once it opens. Returns false when the connection is closed for good.
   * @param {Record<string, unknown>} msg
   */
  send(msg) {
    if (this.state === 'closed') return false;
    const text = JSON.stringify(msg);
    if (this.state === 'open' && this.socket) {
      this.socket.send(text);
      return true;
    }
    if (this.queue.length >= MAX_QUEUE) {
      this.log.warn(`signaling queue full (${MAX_QUEUE}); dropped the oldest message`);
      this.queue.shift();
    }
    this.queue.push(text);
    if (this.state === 'idle') this.connect();
    return true;
  }

  /** Close for good: no reconnection, queued messages dropped. */
  close() {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue = [];
    this.clearRetry();
    this.stopPing();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      try {
        socket.close(1000, 'closed by the page');
      } catch (e) {
        this.log.debug('socket.close threw', e);
      }
      this.handlers.onClose({ type: 'close', code: 1000, reason: 'closed by the page' }, { willReconnect: false });
    }
  }

  /**
   * Drop the current socket and connect again at once (server_will_stop, or a socket that
   * stopped answering). Handlers see a close then an open with reconnected = true.
   * @param {string} reason
   */
  reconnectNow(reason) {
    if (this.state === 'closed') return;
    this.log.info(`reconnecting now: ${reason}`);
    const socket = this.socket;
    this.socket = null;
    this.stopPing();
    if (socket) {
      try {
        socket.close(4000, reason);
      } catch (e) {
        this.log.debug('socket.close threw', e);
      }
    }
    this.state = 'waiting';
    this.handlers.onClose({ type: 'close', code: 4000, reason }, { willReconnect: true });
    this.backoff.reset();
    this.state = 'idle';
    this.connect();
  }

  /** @param {unknown} event */
  reportFailure(event) {
    if (this.failureReported) return;
    this.failureReported = true;
    this.handlers.onFailure(event);
  }

  /** @param {unknown} event */
  afterClose(event) {
    this.stopPing();
    if (this.state === 'closed') return;
    const delay = this.reconnect ? this.backoff.next() : null;
    if (delay === null) {
      this.state = 'closed';
      this.queue = [];
      this.log.warn(this.reconnect ? `gave up reconnecting to ${this.url} after ${this.backoff.attempts} attempts` : 'socket closed');
      this.handlers.onClose(event, { willReconnect: false });
      return;
    }
    // A socket that never opened failed to connect: that is a failure worth reporting once.
    if (this.state === 'connecting') this.reportFailure(event);
    this.state = 'waiting';
    this.log.info(`socket closed; reconnecting in ${delay} ms`);
    this.retryTimer = this.platform.setTimeout(() => {
      this.retryTimer = null;
      if (this.state !== 'waiting') return;
      this.state = 'idle';
      this.connect();
    }, delay);
    this.handlers.onClose(event, { willReconnect: true });
  }

  startPing() {
    this.stopPing();
    this.pingTimer = this.platform.setInterval(() => this.ping(), this.pingIntervalMs);
  }

  stopPing() {
    if (this.pingTimer !== null) {
      this.platform.clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  clearRetry() {
    if (this.retryTimer !== null) {
      this.platform.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  ping() {
    if (this.state !== 'open' || !this.socket) return;
    const now = this.platform.now();
    // Measured from the oldest unanswered ping, not from the last message: timers of background
    // tabs may fire only once a minute, which must not look like a dead server.
    const waited = this.unansweredPingSince === null ? 0 : now - this.unansweredPingSince;
    if (waited > this.pongTimeoutMs) {
      // The server stopped answering pings: the socket is half-open. Replace it.
      this.log.warn(`no answer from the server for ${waited} ms; reopening the connection`);
      const socket = this.socket;
      this.socket = null;
      try {
        socket.close(4001, 'no pong');
      } catch (e) {
        this.log.debug('socket.close threw', e);
      }
      this.afterClose({ type: 'close', code: 4001, reason: 'no pong' });
      return;
    }
    if (this.unansweredPingSince === null) this.unansweredPingSince = now;
    this.socket.send('{"command":"ping"}');
  }
}
