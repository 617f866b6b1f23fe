// Tern's web console: live state from the server's event stream (/console/api/events), operator actions
// through the console's REST proxy (/console/api/rest/{app}/rest/v2/...), previews with Tern's own SDK.
//
// The page runs under a strict Content-Security-Policy (no inline script or style, no eval), and every
// value that came from a client or from REST (stream ids, names, IPs, settings) reaches the DOM as text:
// elements are built with createElement and filled with textContent, never with markup.

const API = '/console/api';
const BROADCAST_PAGE = 50;
// A report comes about every second: after this long without one the view is called stale.
const STALE_MS = 5000;
// How long a destructive button stays armed waiting for its confirming click.
const ARM_MS = 4000;

// ------------------------------------------------------------------ DOM helpers

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page has no #${id}`);
  return el;
}

/**
 * An element with text content and attributes. Only plain attributes: event handlers and inline styles
 * are refused, so that data can never become behaviour or be blocked by the CSP.
 * @param {string} tag
 * @param {{text?: unknown, testid?: string, cls?: string, data?: Record<string, string>, attrs?: Record<string, string>}} [o]
 * @param {Array<Node>} [children]
 */
function el(tag, o = {}, children = []) {
  const node = document.createElement(tag);
  if (o.cls) node.className = o.cls;
  if (o.testid) node.dataset.testid = o.testid;
  for (const [k, v] of Object.entries(o.data ?? {})) node.dataset[k] = v;
  for (const [k, v] of Object.entries(o.attrs ?? {})) {
    if (/^on/i.test(k) || k.toLowerCase() === 'style') throw new Error(`el(): attribute ${k} not allowed`);
    node.setAttribute(k, v);
  }
  if (o.text !== undefined) node.textContent = String(o.text);
  for (const c of children) node.append(c);
  return node;
}

/**
 * @param {string} label
 * @param {string} testid
 * @param {() => void} onClick
 */
function button(label, testid, onClick) {
  const b = /** @type {HTMLButtonElement} */ (el('button', { text: label, testid, attrs: { type: 'button' } }));
  b.addEventListener('click', onClick);
  return b;
}

/**
 * A destructive button: the first click arms it ("confirm?"), a second click within ARM_MS acts.
 * @param {HTMLButtonElement} b
 * @param {string} label
 * @param {() => void} act
 */
function armable(b, label, act) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    b.classList.remove('armed');
    b.textContent = label;
  };
  b.textContent = label;
  b.addEventListener('click', () => {
    if (!b.classList.contains('armed')) {
      b.classList.add('armed');
      b.textContent = `confirm ${label}?`;
      timer = setTimeout(disarm, ARM_MS);
      return;
    }
    disarm();
    act();
  });
  return b;
}

// ------------------------------------------------------------------ formatting

const DASH = '—';

/** @param {unknown} v */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Bits per second; 0 means not measured yet. @param {unknown} v */
function fmtBitrate(v) {
  const n = num(v);
  if (!n) return DASH;
  if (n < 1000) return `${Math.round(n)} b/s`;
  if (n < 1_000_000) return `${Math.round(n / 1000)} kb/s`;
  return `${(n / 1_000_000).toFixed(2)} Mb/s`;
}

/** @param {unknown} v */
function fmtBytes(v) {
  const n = num(v);
  if (!n) return DASH;
  const mib = n / (1024 * 1024);
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(1)} MiB`;
}

/** @param {unknown} v */
function fmtUptime(v) {
  const s = num(v);
  if (s === null) return DASH;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const pad = (/** @type {number} */ x) => String(x).padStart(2, '0');
  return d > 0 ? `${d}d ${pad(h)}h ${pad(m)}m` : `${h}h ${pad(m)}m ${pad(sec)}s`;
}

/** A count or measure where 0 is a real value (RTT on loopback, packets lost); null is "not measured". */
function fmtMeasured(/** @type {unknown} */ v, unit = '') {
  const n = num(v);
  return n === null ? DASH : `${Math.round(n * 10) / 10}${unit}`;
}

/** A figure where 0 means "not known yet" (fps, height). */
function fmtPositive(/** @type {unknown} */ v, unit = '') {
  const n = num(v);
  return n ? `${Math.round(n * 10) / 10}${unit}` : DASH;
}

/** @param {unknown} v */
const text = (v) => (v === null || v === undefined || v === '' ? DASH : String(v));

// ------------------------------------------------------------------ server calls

/**
 * @typedef {{ok: boolean, status: number, json: any, text: string}} Reply
 */

/**
 * One call to the console API. Mutating calls carry the CSRF header; a 401 sends the page back to the
 * login form.
 * @param {string} method
 * @param {string} path under /console/api
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<Reply>}
 */
async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Tern-Console'] = '1';
  /** @type {string | undefined} */
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    return { ok: false, status: 0, json: null, text: `the server did not answer (${e instanceof Error ? e.message : e})` };
  }
  const raw = await res.text().catch(() => '');
  let json = null;
  try { json = raw ? JSON.parse(raw) : null; } catch { json = null; }
  if (res.status === 401 && path !== '/login') showGate('login');
  if (res.status === 403 && path === '/session') showGate('forbidden');
  return { ok: res.ok, status: res.status, json, text: raw };
}

/**
 * A REST v2 call of `app` through the console.
 * @param {string} app
 * @param {string} method
 * @param {string} path after /rest/v2/
 * @param {unknown} [body]
 */
function rest(app, method, path, body) {
  return api(method, `/rest/${encodeURIComponent(app)}/rest/v2/${path}`, body);
}

/** What went wrong, in words: the server's message when it sent one. @param {Reply} r */
function failure(r) {
  if (r.status === 0) return r.text;
  const msg = r.json && typeof r.json.message === 'string' && r.json.message ? r.json.message : r.text.slice(0, 200);
  return `${r.status}${msg ? `: ${msg}` : ''}`;
}

/** @type {ReturnType<typeof setTimeout> | null} */
let noticeTimer = null;
/**
 * A short message at the top of the page.
 * @param {string} message
 * @param {boolean} [isError]
 */
function notice(message, isError = false) {
  const n = byId('notice');
  n.textContent = message;
  n.classList.toggle('error', isError);
  n.hidden = false;
  if (noticeTimer) clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, isError ? 12_000 : 5000);
}

/**
 * @param {HTMLElement} node
 * @param {string} message
 * @param {boolean} isError
 */
function say(node, message, isError) {
  node.textContent = message;
  node.classList.toggle('error', isError);
  node.dataset.state = isError ? 'error' : 'ok';
}

// ------------------------------------------------------------------ access: session and login

/** @param {'login' | 'forbidden' | 'console'} which */
function showGate(which) {
  byId('login').hidden = which !== 'login';
  byId('forbidden').hidden = which !== 'forbidden';
  byId('console').hidden = which !== 'console';
  byId('logout').classList.toggle('away', which !== 'console');
  if (which !== 'console') stopEvents();
  if (which === 'login') /** @type {HTMLInputElement} */ (byId('login-password')).focus();
}

async function start() {
  const r = await api('GET', '/session');
  if (r.status === 403) return showGate('forbidden');
  if (!r.ok || !r.json) {
    notice(`could not read the console session (${failure(r)}); retrying`, true);
    setTimeout(start, 3000);
    return;
  }
  // Logging out only means something when there is a password.
  byId('logout').hidden = !r.json.loginRequired;
  if (r.json.loginRequired && !r.json.loggedIn) return showGate('login');
  openConsole();
}

async function onLogout() {
  const r = await api('POST', '/logout');
  if (!r.ok) {
    notice(`could not log out: ${failure(r)}`, true);
    return;
  }
  if (preview) releasePreview(preview);
  showGate('login');
}

function openConsole() {
  showGate('console');
  startEvents();
}

/** @param {SubmitEvent} ev */
async function onLogin(ev) {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId('login-password'));
  const errorLine = byId('login-error');
  errorLine.hidden = true;
  const r = await api('POST', '/login', { password: input.value });
  if (r.ok) {
    input.value = '';
    openConsole();
    return;
  }
  errorLine.textContent = r.status === 401
    ? (r.json && typeof r.json.message === 'string' && r.json.message) || 'wrong password'
    : `login failed: ${failure(r)}`;
  errorLine.hidden = false;
  input.select();
}

// ------------------------------------------------------------------ live state (SSE)

/** @type {EventSource | null} */
let events = null;
let lastStateAt = 0;
/** @type {ReturnType<typeof setInterval> | null} */
let staleTimer = null;

/**
 * @param {'connecting' | 'live' | 'stale' | 'reconnecting' | 'closed'} state
 * @param {string} label
 */
function setConn(state, label) {
  const c = byId('events-state');
  c.dataset.state = state;
  c.textContent = label;
}

function startEvents() {
  stopEvents();
  setConn('connecting', 'connecting…');
  const es = new EventSource(`${API}/events`);
  events = es;
  es.addEventListener('state', (ev) => {
    lastStateAt = Date.now();
    setConn('live', 'live');
    let state;
    try {
      state = JSON.parse(/** @type {MessageEvent} */ (ev).data);
    } catch (e) {
      console.warn('console: a state event that is not JSON', e);
      return;
    }
    render(state);
  });
  es.addEventListener('error', () => {
    if (events !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      // The browser gives up on a refused stream (e.g. 401 after the session ended): ask why, then retry.
      setConn('closed', 'disconnected');
      es.close();
      events = null;
      setTimeout(() => { if (!byId('console').hidden && events === null) start(); }, 2000);
    } else {
      setConn('reconnecting', 'reconnecting…');
    }
  });
  staleTimer = setInterval(() => {
    if (events && lastStateAt && Date.now() - lastStateAt > STALE_MS && byId('events-state').dataset.state === 'live') {
      setConn('stale', `no report for ${Math.round((Date.now() - lastStateAt) / 1000)} s`);
    }
  }, 1000);
}

function stopEvents() {
  if (events) events.close();
  events = null;
  if (staleTimer) clearInterval(staleTimer);
  staleTimer = null;
}

/**
 * @typedef {{videoCodec?: string | null, videoWidth?: number | null, videoHeight?: number | null,
 *   videoBitrate?: number | null, audioBitrate?: number | null, fps?: number | null}} Track
 * @typedef {{clientId?: string, kind?: string, clientIp?: string, sendBitrate?: number | null,
 *   measuredBitrate?: number | null, rttMs?: number | null, packetsLost?: number | null,
 *   lossPercent?: number | null, layerHeight?: number | null}} Player
 * @typedef {{streamId: string, name?: string | null, publishType?: string | null, status?: string | null,
 *   tracks?: Track[] | null, viewers?: number | null, players?: Player[] | null}} LiveStream
 * @typedef {{name: string, streams?: LiveStream[] | null}} App
 * @typedef {{system?: {cpuPercent?: number | null, rssBytes?: number | null, uptimeSeconds?: number | null,
 *   version?: string | null} | null, apps?: App[] | null}} State
 */

/** @param {State} state */
function render(state) {
  const sys = state.system ?? {};
  byId('cpu').textContent = num(sys.cpuPercent) === null ? DASH : `${(/** @type {number} */ (sys.cpuPercent)).toFixed(1)} %`;
  byId('memory').textContent = fmtBytes(sys.rssBytes);
  byId('uptime').textContent = fmtUptime(sys.uptimeSeconds);
  byId('version').textContent = text(sys.version);

  const apps = Array.isArray(state.apps) ? state.apps.filter((a) => a && typeof a.name === 'string') : [];
  renderApps(apps);
  updateAppSelect(apps.map((a) => a.name));
  noticeLiveChanges(apps);
}

// ------------------------------------------------------------------ live streams table

/**
 * What the page keeps of one app's table, so that each report updates cells in place: rows are not
 * rebuilt under the operator's pointer, and expanded viewer lists stay open.
 * @typedef {{section: HTMLElement, tbody: HTMLElement, count: HTMLElement, empty: HTMLElement,
 *   rows: Map<string, StreamRow>}} AppView
 * @typedef {{main: HTMLTableRowElement, detail: HTMLTableRowElement, cells: Record<string, HTMLElement>,
 *   viewerBody: HTMLElement, toggle: HTMLButtonElement}} StreamRow
 */

/** @type {Map<string, AppView>} */
const appViews = new Map();
/** Streams whose viewer list is open, as "app/streamId". @type {Set<string>} */
const expanded = new Set();

const COLUMNS = ['Stream id', 'Name', 'Source', 'Codec', 'Resolution', 'Bitrate', 'FPS', 'Viewers', 'Actions'];

/** @param {App[]} apps */
function renderApps(apps) {
  const container = byId('apps');
  if (appViews.size === 0) container.replaceChildren();
  const seen = new Set();
  for (const app of apps) {
    seen.add(app.name);
    let view = appViews.get(app.name);
    if (!view) {
      view = makeAppView(app.name);
      appViews.set(app.name, view);
    }
    updateAppView(app.name, view, Array.isArray(app.streams) ? app.streams : []);
  }
  for (const [name, view] of appViews) {
    if (!seen.has(name)) {
      view.section.remove();
      appViews.delete(name);
    }
  }
  // Keep the server's order of apps.
  const order = apps.map((a) => /** @type {AppView} */ (appViews.get(a.name)).section);
  if (order.some((s, i) => container.children[i] !== s)) container.append(...order);
}

/** @param {string} name */
function makeAppView(name) {
  const count = el('span', { cls: 'count', testid: 'live-count', text: '0' });
  const empty = el('tr', { cls: 'empty', testid: 'no-streams' }, [
    el('td', { text: 'no live streams', attrs: { colspan: String(COLUMNS.length) } }),
  ]);
  const tbody = el('tbody', { testid: 'streams' }, [empty]);
  const table = el('table', { cls: 'grid streams', testid: 'streams-table' }, [
    el('thead', {}, [el('tr', {}, COLUMNS.map((c) => el('th', { text: c, cls: ['Bitrate', 'FPS', 'Viewers'].includes(c) ? 'num' : '' })))]),
    tbody,
  ]);
  const section = el('section', { cls: 'app', testid: 'app-section', data: { app: name } }, [
    el('h3', {}, [document.createTextNode(name), document.createTextNode(' '), count]),
    table,
  ]);
  return { section, tbody, count, empty, rows: new Map() };
}

/**
 * @param {string} app
 * @param {AppView} view
 * @param {LiveStream[]} streams
 */
function updateAppView(app, view, streams) {
  const live = streams.filter((s) => s && typeof s.streamId === 'string');
  view.count.textContent = `${live.length} live`;
  const ids = new Set(live.map((s) => s.streamId));
  for (const [id, row] of view.rows) {
    if (!ids.has(id)) {
      row.main.remove();
      row.detail.remove();
      view.rows.delete(id);
      if (preview && preview.app === app && preview.streamId === id) previewEnded('the stream ended');
    }
  }
  const sorted = [...live].sort((a, b) => a.streamId.localeCompare(b.streamId));
  for (const s of sorted) {
    let row = view.rows.get(s.streamId);
    if (!row) {
      row = makeStreamRow(app, s.streamId);
      view.rows.set(s.streamId, row);
    }
    fillStreamRow(row, s);
  }
  /** @type {HTMLElement[]} */
  const wanted = sorted.length === 0 ? [view.empty] : sorted.flatMap((s) => {
    const r = /** @type {StreamRow} */ (view.rows.get(s.streamId));
    return [r.main, r.detail];
  });
  // Move rows only when the order changed: moving a node under the pointer would swallow a click.
  if (wanted.length !== view.tbody.children.length || wanted.some((n, i) => view.tbody.children[i] !== n)) {
    view.tbody.append(...wanted);
    if (sorted.length > 0) view.empty.remove();
  }
}

/**
 * @param {string} app
 * @param {string} streamId
 * @returns {StreamRow}
 */
function makeStreamRow(app, streamId) {
  const key = `${app}/${streamId}`;
  /** @type {Record<string, HTMLElement>} */
  const cells = {};
  for (const name of ['id', 'name', 'source', 'codec', 'resolution', 'bitrate', 'fps']) {
    cells[name] = el('td', { testid: `stream-${name}`, cls: ['bitrate', 'fps'].includes(name) ? 'num' : '' });
  }
  cells.viewers = el('span', { testid: 'viewer-count', text: '0' });
  const toggle = /** @type {HTMLButtonElement} */ (button('▸', 'viewers-toggle', () => {
    if (expanded.has(key)) expanded.delete(key); else expanded.add(key);
    detail.hidden = !expanded.has(key);
    toggle.textContent = expanded.has(key) ? '▾' : '▸';
    toggle.setAttribute('aria-expanded', String(expanded.has(key)));
  }));
  toggle.classList.add('toggle');
  toggle.setAttribute('aria-label', 'show viewers');
  toggle.setAttribute('aria-expanded', 'false');

  const stop = armable(/** @type {HTMLButtonElement} */ (el('button', { testid: 'stop-button', cls: 'danger', attrs: { type: 'button' } })),
    'stop', () => stopStream(app, streamId));
  const actions = el('td', { cls: 'actions' }, [
    button('preview', 'preview-button', () => startPreview(app, streamId)),
    button('token', 'token-button', () => openToken(app, streamId)),
    stop,
  ]);
  const main = /** @type {HTMLTableRowElement} */ (el('tr', { cls: 'stream', testid: 'stream-row', data: { app, streamId } }, [
    cells.id, cells.name, cells.source, cells.codec, cells.resolution, cells.bitrate, cells.fps,
    el('td', { cls: 'num viewers' }, [cells.viewers, toggle]),
    actions,
  ]));
  const viewerBody = el('tbody', { testid: 'viewer-list' });
  const detail = /** @type {HTMLTableRowElement} */ (el('tr', { cls: 'detail', testid: 'viewers-row', data: { app, streamId } }, [
    el('td', { attrs: { colspan: String(COLUMNS.length) } }, [
      el('table', { cls: 'grid viewers' }, [
        el('thead', {}, [el('tr', {}, ['Client', 'Kind', 'IP', 'Sending', 'Estimate', 'RTT', 'Lost', 'Layer']
          .map((c) => el('th', { text: c })))]),
        viewerBody,
      ]),
    ]),
  ]));
  detail.hidden = !expanded.has(key);
  cells.id.textContent = streamId;
  return { main, detail, cells, viewerBody, toggle };
}

/**
 * @param {StreamRow} row
 * @param {LiveStream} s
 */
function fillStreamRow(row, s) {
  const tracks = Array.isArray(s.tracks) ? s.tracks.filter(Boolean) : [];
  // Simulcast layers arrive as several tracks: the tallest names the resolution and frame rate, the
  // bitrate is what all of them bring in.
  const top = [...tracks].sort((a, b) => (num(b.videoHeight) ?? 0) - (num(a.videoHeight) ?? 0))[0];
  const codecs = [...new Set(tracks.map((t) => t.videoCodec).filter((c) => typeof c === 'string' && c))];
  const bitrate = tracks.reduce((sum, t) => sum + (num(t.videoBitrate) ?? 0) + (num(t.audioBitrate) ?? 0), 0);
  const w = num(top?.videoWidth);
  const h = num(top?.videoHeight);
  setText(row.cells.name, text(s.name));
  setText(row.cells.source, text(s.publishType));
  setText(row.cells.codec, codecs.length ? codecs.join(', ') : DASH);
  setText(row.cells.resolution, w && h ? `${w}×${h}${tracks.length > 1 ? ` (${tracks.length} layers)` : ''}` : DASH);
  setText(row.cells.bitrate, fmtBitrate(bitrate));
  setText(row.cells.fps, fmtPositive(top?.fps));
  const players = Array.isArray(s.players) ? s.players.filter(Boolean) : [];
  const viewers = num(s.viewers) ?? players.length;
  setText(row.cells.viewers, String(viewers));
  row.main.dataset.status = typeof s.status === 'string' ? s.status : '';
  fillViewers(row.viewerBody, players);
}

/**
 * Writes only on change, so that selecting text in the table survives the next report.
 * @param {HTMLElement} node
 * @param {string} value
 */
function setText(node, value) {
  if (node.textContent !== value) node.textContent = value;
}

/**
 * @param {HTMLElement} body
 * @param {Player[]} players
 */
function fillViewers(body, players) {
  if (players.length === 0) {
    body.replaceChildren(el('tr', { cls: 'empty' }, [el('td', { text: 'no viewers', attrs: { colspan: '8' } })]));
    return;
  }
  body.replaceChildren(...players.map((p) => {
    const lost = num(p.packetsLost);
    const pct = num(p.lossPercent);
    const loss = lost === null && pct === null ? DASH : `${lost ?? DASH}${pct === null ? '' : ` (${pct.toFixed(1)} %)`}`;
    return el('tr', { testid: 'viewer-row', data: { clientId: String(p.clientId ?? '') } }, [
      el('td', { text: text(p.clientId), cls: 'mono' }),
      el('td', { text: text(p.kind), testid: 'viewer-kind' }),
      el('td', { text: text(p.clientIp), testid: 'viewer-ip' }),
      el('td', { text: fmtBitrate(p.sendBitrate), cls: 'num' }),
      el('td', { text: fmtBitrate(p.measuredBitrate), cls: 'num' }),
      el('td', { text: fmtMeasured(p.rttMs, ' ms'), cls: 'num' }),
      el('td', { text: loss, cls: 'num' }),
      el('td', { text: fmtPositive(p.layerHeight, 'p'), cls: 'num' }),
    ]);
  }));
}

/**
 * @param {string} app
 * @param {string} streamId
 */
async function stopStream(app, streamId) {
  const r = await rest(app, 'POST', `broadcasts/${encodeURIComponent(streamId)}/stop`);
  if (r.ok && r.json?.success !== false) notice(`stopped ${streamId}`);
  else notice(`could not stop ${streamId}: ${failure(r)}`, true);
}

// ------------------------------------------------------------------ preview (Tern's SDK)

/**
 * The preview in progress: at most one, so that the console is never more than one viewer.
 * @type {{app: string, streamId: string, adaptor: any} | null}
 */
let preview = null;

/**
 * @param {'idle' | 'connecting' | 'playing' | 'ended' | 'error'} state
 * @param {string} message
 */
function previewStatus(state, message) {
  const s = byId('preview-status');
  s.dataset.state = state;
  s.textContent = message;
  s.classList.toggle('error', state === 'error');
}

/**
 * @param {string} app
 * @param {string} streamId
 */
async function startPreview(app, streamId) {
  closePreview();
  const video = /** @type {HTMLVideoElement} */ (byId('preview-video'));
  byId('preview').hidden = false;
  byId('preview-title').textContent = `${app} / ${streamId}`;
  previewStatus('connecting', 'loading the SDK…');
  const mine = { app, streamId, adaptor: /** @type {any} */ (null) };
  preview = mine;
  let sdk;
  try {
    // Each app serves Tern's SDK; the app's own copy matches its server.
    sdk = await import(`/${encodeURIComponent(app)}/js/webrtc_adaptor.js`);
  } catch (e) {
    if (preview === mine) previewStatus('error', `could not load the SDK: ${e instanceof Error ? e.message : e}`);
    return;
  }
  if (preview !== mine) return; // another preview or close came meanwhile
  previewStatus('connecting', 'connecting…');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  mine.adaptor = new sdk.WebRTCAdaptor({
    websocket_url: `${scheme}//${location.host}/${encodeURIComponent(app)}/websocket`,
    isPlayMode: true,
    remoteVideoElement: video,
    callback: (/** @type {string} */ info) => {
      if (preview !== mine) return;
      if (info === 'initialized') {
        previewStatus('connecting', `asking to play ${streamId}…`);
        mine.adaptor.play(streamId);
      } else if (info === 'play_started') {
        previewStatus('playing', `playing ${streamId}`);
      } else if (info === 'play_finished') {
        previewEnded(`${streamId} ended`);
      }
    },
    callbackError: (/** @type {string} */ definition) => {
      if (preview !== mine) return;
      previewStatus('error', `error: ${definition}`);
    },
  });
}

/** The stream ended: keep the panel (with its last words), drop the connection. @param {string} why */
function previewEnded(why) {
  const p = preview;
  if (!p) return;
  releasePreview(p);
  previewStatus('ended', why);
}

function closePreview() {
  if (preview) releasePreview(preview);
  byId('preview').hidden = true;
  previewStatus('idle', '');
}

/** @param {{app: string, streamId: string, adaptor: any}} p */
function releasePreview(p) {
  if (preview === p) preview = null;
  try {
    p.adaptor?.stop(p.streamId);
    p.adaptor?.closeWebSocket();
  } catch (e) {
    console.warn('console: closing the preview', e);
  }
  /** @type {HTMLVideoElement} */ (byId('preview-video')).srcObject = null;
}

// ------------------------------------------------------------------ tokens

/** @type {{app: string, streamId: string} | null} */
let tokenTarget = null;

/**
 * @param {string} app
 * @param {string} streamId
 */
function openToken(app, streamId) {
  tokenTarget = { app, streamId };
  byId('token').hidden = false;
  byId('token-title').textContent = `${app} / ${streamId}`;
  byId('token-result').textContent = '';
  byId('token-expiry').textContent = '';
  byId('token').scrollIntoView({ block: 'nearest' });
}

/** @param {SubmitEvent} ev */
async function onMintToken(ev) {
  ev.preventDefault();
  if (!tokenTarget) return;
  const { app, streamId } = tokenTarget;
  const type = /** @type {HTMLSelectElement} */ (byId('token-type')).value;
  const minutes = Math.max(1, Math.floor(Number(/** @type {HTMLInputElement} */ (byId('token-minutes')).value) || 60));
  const expireDate = Math.floor(Date.now() / 1000) + minutes * 60;
  const result = byId('token-result');
  const expiry = byId('token-expiry');
  result.textContent = '';
  expiry.textContent = 'minting…';
  const r = await rest(app, 'GET', `broadcasts/${encodeURIComponent(streamId)}/token?expireDate=${expireDate}&type=${encodeURIComponent(type)}`);
  if (tokenTarget?.app !== app || tokenTarget.streamId !== streamId) return;
  if (r.ok && r.json && typeof r.json.tokenId === 'string') {
    result.textContent = r.json.tokenId;
    expiry.textContent = `${type}, once, until ${new Date(expireDate * 1000).toLocaleString()}`;
    expiry.classList.remove('error');
  } else {
    expiry.textContent = `could not mint: ${failure(r)}`;
    expiry.classList.add('error');
  }
}

// ------------------------------------------------------------------ managed app: broadcasts and settings

/** The app the broadcasts and settings sections show. @type {string | null} */
let managed = null;
let broadcastOffset = 0;

/** @param {string[]} names */
function updateAppSelect(names) {
  const select = /** @type {HTMLSelectElement} */ (byId('app-select'));
  const current = [...select.options].map((o) => o.value);
  if (current.length !== names.length || current.some((n, i) => n !== names[i])) {
    select.replaceChildren(...names.map((n) => new Option(n, n)));
    if (managed && names.includes(managed)) select.value = managed;
  }
  if ((managed === null || !names.includes(managed)) && names.length > 0) {
    manage(names.includes('LiveApp') ? 'LiveApp' : names[0]);
  }
}

/** @param {string} app */
function manage(app) {
  managed = app;
  /** @type {HTMLSelectElement} */ (byId('app-select')).value = app;
  broadcastOffset = 0;
  loadBroadcasts();
  loadSettings();
}

/** Live stream ids per app at the last report, to refresh the broadcast list when they change. */
let liveSignature = '';
/** @param {App[]} apps */
function noticeLiveChanges(apps) {
  const app = apps.find((a) => a.name === managed);
  const sig = app && Array.isArray(app.streams) ? app.streams.map((s) => s?.streamId).sort().join('\n') : '';
  if (sig !== liveSignature) {
    const first = liveSignature === '' && sig === '';
    liveSignature = sig;
    if (!first) loadBroadcasts();
  }
}

let broadcastsLoad = 0;
async function loadBroadcasts() {
  const app = managed;
  if (!app) return;
  const mine = ++broadcastsLoad;
  const offset = broadcastOffset;
  const message = byId('broadcasts-message');
  const r = await rest(app, 'GET', `broadcasts/list/${offset}/${BROADCAST_PAGE}`);
  if (mine !== broadcastsLoad) return; // a newer load is on its way
  if (!r.ok || !Array.isArray(r.json)) {
    say(message, `could not list broadcasts: ${failure(r)}`, true);
    return;
  }
  /** @type {Array<Record<string, unknown>>} */
  const list = r.json;
  const body = byId('broadcasts-list');
  if (list.length === 0) {
    body.replaceChildren(el('tr', { cls: 'empty', testid: 'no-broadcasts' }, [
      el('td', { text: offset === 0 ? 'no broadcasts registered' : 'no more broadcasts', attrs: { colspan: '5' } }),
    ]));
  } else {
    body.replaceChildren(...list.map((b) => broadcastRow(app, b)));
  }
  byId('broadcasts-range').textContent = list.length ? `${offset + 1}–${offset + list.length}` : '';
  /** @type {HTMLButtonElement} */ (byId('broadcasts-prev')).disabled = offset === 0;
  /** @type {HTMLButtonElement} */ (byId('broadcasts-next')).disabled = list.length < BROADCAST_PAGE;
  body.dataset.loadedApp = app;
  if (message.dataset.state === 'error') say(message, '', false);
}

/**
 * @param {string} app
 * @param {Record<string, unknown>} b
 */
function broadcastRow(app, b) {
  const id = typeof b.streamId === 'string' ? b.streamId : '';
  const del = armable(/** @type {HTMLButtonElement} */ (el('button', { testid: 'delete-button', cls: 'danger', attrs: { type: 'button' } })),
    'delete', () => deleteBroadcast(app, id));
  return el('tr', { testid: 'broadcast-row', data: { streamId: id, status: typeof b.status === 'string' ? b.status : '' } }, [
    el('td', { text: text(id), cls: 'mono', testid: 'broadcast-id' }),
    el('td', { text: text(b.name), testid: 'broadcast-name' }),
    el('td', { text: text(b.status), testid: 'broadcast-status' }),
    el('td', { text: fmtMeasured(b.webRTCViewerCount), cls: 'num' }),
    el('td', { cls: 'actions' }, [button('token', 'broadcast-token', () => openToken(app, id)), del]),
  ]);
}

/** @param {SubmitEvent} ev */
async function onCreate(ev) {
  ev.preventDefault();
  const app = managed;
  if (!app) return;
  const idInput = /** @type {HTMLInputElement} */ (byId('create-id'));
  const nameInput = /** @type {HTMLInputElement} */ (byId('create-name'));
  /** @type {Record<string, string>} */
  const body = {};
  if (idInput.value.trim()) body.streamId = idInput.value.trim();
  if (nameInput.value) body.name = nameInput.value;
  const message = byId('broadcasts-message');
  const r = await rest(app, 'POST', 'broadcasts/create', body);
  if (r.ok && r.json && typeof r.json.streamId === 'string') {
    say(message, `created ${r.json.streamId}`, false);
    idInput.value = '';
    nameInput.value = '';
    loadBroadcasts();
  } else {
    say(message, `could not create: ${failure(r)}`, true);
  }
}

/**
 * @param {string} app
 * @param {string} id
 */
async function deleteBroadcast(app, id) {
  const message = byId('broadcasts-message');
  const r = await rest(app, 'DELETE', `broadcasts/${encodeURIComponent(id)}`);
  if (r.ok && r.json?.success !== false) say(message, `deleted ${id}`, false);
  else say(message, `could not delete ${id}: ${failure(r)}`, true);
  if (app === managed) loadBroadcasts();
}

let settingsLoad = 0;
async function loadSettings() {
  const app = managed;
  if (!app) return;
  const mine = ++settingsLoad;
  const editor = /** @type {HTMLTextAreaElement} */ (byId('settings-editor'));
  const message = byId('settings-message');
  editor.dataset.loadedApp = '';
  const r = await rest(app, 'GET', 'settings');
  if (mine !== settingsLoad) return;
  if (!r.ok || !r.json || typeof r.json !== 'object') {
    say(message, `could not read the settings of ${app}: ${failure(r)}`, true);
    return;
  }
  editor.value = JSON.stringify(r.json, null, 2);
  editor.dataset.loadedApp = app;
  say(message, `settings of ${app} as in force`, false);
}

async function saveSettings() {
  const app = managed;
  if (!app) return;
  const editor = /** @type {HTMLTextAreaElement} */ (byId('settings-editor'));
  const message = byId('settings-message');
  let parsed;
  try {
    parsed = JSON.parse(editor.value);
  } catch (e) {
    say(message, `not valid JSON: ${e instanceof Error ? e.message : e}`, true);
    return;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    say(message, 'the settings are one JSON object ({ … })', true);
    return;
  }
  say(message, 'saving…', false);
  const r = await rest(app, 'PUT', 'settings', parsed);
  if (app !== managed) return;
  if (r.ok && r.json?.success !== false) {
    await loadSettings();
    say(message, `saved; the settings of ${app} are in force`, false);
  } else {
    say(message, `not saved: ${failure(r)}`, true);
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  byId('login-form').addEventListener('submit', (ev) => { onLogin(/** @type {SubmitEvent} */ (ev)); });
  byId('token-form').addEventListener('submit', (ev) => { onMintToken(/** @type {SubmitEvent} */ (ev)); });
  byId('create-form').addEventListener('submit', (ev) => { onCreate(/** @type {SubmitEvent} */ (ev)); });
  byId('token-close').addEventListener('click', () => { byId('token').hidden = true; tokenTarget = null; });
  byId('preview-close').addEventListener('click', closePreview);
  byId('logout').addEventListener('click', () => { onLogout(); });
  byId('broadcasts-refresh').addEventListener('click', () => { loadBroadcasts(); });
  byId('broadcasts-prev').addEventListener('click', () => {
    broadcastOffset = Math.max(0, broadcastOffset - BROADCAST_PAGE);
    loadBroadcasts();
  });
  byId('broadcasts-next').addEventListener('click', () => {
    broadcastOffset += BROADCAST_PAGE;
    loadBroadcasts();
  });
  byId('settings-reload').addEventListener('click', () => { loadSettings(); });
  byId('settings-save').addEventListener('click', () => { saveSettings(); });
  byId('app-select').addEventListener('change', (ev) => {
    manage(/** @type {HTMLSelectElement} */ (ev.target).value);
  });
  // Leaving the page ends the preview's session at once instead of at the server's timeout.
  window.addEventListener('pagehide', () => { if (preview) releasePreview(preview); });
}

wire();
start();
