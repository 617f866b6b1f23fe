// The browser facilities the SDK uses, gathered in one object. The SDK never reads a
// global anywhere else: each adaptor takes a Platform when it is built, so unit tests
// pass fakes (and a fake clock) and two adaptors on one page share nothing.

/**
 * @typedef {object} Platform
 * @property {(typeof WebSocket) | undefined} WebSocket
 *   undefined when the page has no WebSocket (the adaptor then raises WebSocketNotSupported)
 * @property {(typeof RTCPeerConnection) | undefined} RTCPeerConnection
 * @property {(typeof MediaStream) | undefined} MediaStream
 * @property {MediaDevices | undefined} mediaDevices
 *   undefined on insecure pages (plain http on a non-local host)
 * @property {boolean} isSecureContext
 * @property {Document | undefined} document
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(id: unknown) => void} clearTimeout
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(id: unknown) => void} clearInterval
 * @property {() => number} now milliseconds, for elapsed-time decisions
 * @property {() => number} random in [0, 1), for backoff jitter and binary message tokens
 * @property {import('./logger.js').LogSink} [console] where log lines go (the browser console by default)
 */

/**
 * The real browser. Read at call time, not at module load, so a page that removes
 * `window.WebSocket` before building an adaptor is seen as having none.
 * @returns {Platform}
 */
export function browserPlatform() {
  /** @type {any} */
  const g = globalThis;
  const nav = g.navigator;
  return {
    WebSocket: typeof g.WebSocket === 'function' ? g.WebSocket : undefined,
    RTCPeerConnection: typeof g.RTCPeerConnection === 'function' ? g.RTCPeerConnection : undefined,
    MediaStream: typeof g.MediaStream === 'function' ? g.MediaStream : undefined,
    mediaDevices: nav && nav.mediaDevices ? nav.mediaDevices : undefined,
    isSecureContext: g.isSecureContext !== false,
    document: g.document,
    setTimeout: (fn, ms) => g.setTimeout(fn, ms),
    clearTimeout: (id) => g.clearTimeout(id),
    setInterval: (fn, ms) => g.setInterval(fn, ms),
    clearInterval: (id) => g.clearInterval(id),
    now: () => Date.now(),
    random: () => Math.random(),
    console: g.console,
  };
}
