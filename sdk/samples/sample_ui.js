// Helpers shared by the sample pages: the server URL, the list of errors a page can receive
// (in plain words), and a status log. Pages pass in the SDK module so this file has no import
// of it and works wherever the pages are served.

/** @typedef {typeof import('../src/webrtc_adaptor.js')} Sdk */
/** @typedef {import('../src/webrtc_adaptor.js').AdaptorEvent} AdaptorEvent */

/**
 * The signaling URL of the application this page is served by: /{App}/page.html talks to
 * ws(s)://host/{App}/websocket.
 */
export function webSocketUrl() {
  const app = location.pathname.split('/').filter(Boolean)[0] ?? 'LiveApp';
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/${app}/websocket`;
}

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no element #${id}`);
  return /** @type {T} */ (el);
}

/** A value from the page's query string, or a default. */
export function param(/** @type {string} */ name, /** @type {string} */ fallback) {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}

/** A short random id for streams and rooms. */
export function randomId(/** @type {string} */ prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}

export class StatusLog {
  /** @param {HTMLElement} el */
  constructor(el) {
    this.el = el;
  }

  /** @param {string} line */
  add(line) {
    const time = new Date().toLocaleTimeString();
    this.el.textContent += `${time}  ${line}\n`;
    this.el.scrollTop = this.el.scrollHeight;
  }
}

/**
 * The errors a page can receive, each with its plain words; a raised error is highlighted and
 * its message shown in a banner.
 */
export class ErrorBoard {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.list a <dl> to fill
   * @param {HTMLElement} opts.banner where the last error's message goes
   * @param {string[]} opts.definitions the errors this page can receive
   * @param {(definition: string) => string} opts.describe plain words (the SDK's describeError)
   */
  constructor({ list, banner, definitions, describe }) {
    this.banner = banner;
    /** @type {Map<string, HTMLElement>} */
    this.rows = new Map();
    /** Definitions raised so far, in order (tests read it). @type {string[]} */
    this.raised = [];
    list.classList.add('errors');
    for (const def of definitions) this.addRow(list, def, describe(def));
    this.list = list;
    this.describe = describe;
  }

  /**
   * @param {HTMLElement} list
   * @param {string} definition
   * @param {string} words
   */
  addRow(list, definition, words) {
    const wrap = document.createElement('div');
    wrap.dataset.definition = definition;
    const dt = document.createElement('dt');
    dt.textContent = definition;
    const dd = document.createElement('dd');
    dd.textContent = words;
    wrap.append(dt, dd);
    list.append(wrap);
    this.rows.set(definition, wrap);
  }

  /** @param {AdaptorEvent} event */
  show(event) {
    this.raised.push(event.definition);
    let row = this.rows.get(event.definition);
    if (!row) {
      this.addRow(this.list, event.definition, this.describe(event.definition));
      row = /** @type {HTMLElement} */ (this.rows.get(event.definition));
    }
    row.classList.add('raised');
    this.banner.replaceChildren();
    const title = document.createElement('strong');
    title.textContent = event.definition + (event.streamId ? ` (stream ${event.streamId})` : '');
    const text = document.createElement('span');
    text.textContent = event.message;
    this.banner.append(title, text);
    this.banner.classList.add('shown');
  }

  clear() {
    this.banner.classList.remove('shown');
  }
}

/** Errors every page that talks to the server can receive. */
export const CONNECTION_ERRORS = ['WebSocketNotSupported', 'WebSocketNotConnected'];
/** Errors of opening the camera and microphone. */
export const CAPTURE_ERRORS = ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'OverconstrainedError', 'SecurityError',
  'AbortError', 'NotSupportedError'];
