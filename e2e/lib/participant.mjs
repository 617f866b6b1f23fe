// One participant = one browser context with one test page. Records what the page saw (SDK callbacks in
// window.events), the browser console, page errors and every WebSocket frame, for assertions and evidence.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, withTimeout } from './poll.mjs';

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = path.join(e2eDir, 'test-results');

/**
 * Open `url` in a new context of `browser`.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string} label a short name used in evidence ("publisher", "player1", ...)
 */
export async function openParticipant(browser, url, label) {
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const consoleLines = [];
  const pageErrors = [];
  const frames = [];
  page.on('console', (m) => {
    consoleLines.push(`[${m.type()}] ${m.text()}`);
    if (consoleLines.length > 500) consoleLines.shift();
  });
  page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('websocket', (ws) => {
    const t0 = Date.now();
    frames.push({ t: t0, dir: 'open', payload: ws.url() });
    ws.on('framesent', (f) => frames.push({ t: Date.now(), dir: 'sent', payload: String(f.payload) }));
    ws.on('framereceived', (f) => frames.push({ t: Date.now(), dir: 'recv', payload: String(f.payload) }));
    ws.on('socketerror', (e) => frames.push({ t: Date.now(), dir: 'error', payload: String(e) }));
    ws.on('close', () => frames.push({ t: Date.now(), dir: 'close', payload: '' }));
  });
  await page.goto(url, { waitUntil: 'load' });

  const participant = {
    label,
    url,
    context,
    page,
    consoleLines,
    pageErrors,
    frames,

    /** All recorded SDK callbacks/errors: [{t, kind:'callback'|'error', name, data}] */
    events() { return page.evaluate(() => window.events.slice()); },

    /** Names of recorded events, in order (for messages). */
    async eventNames() { return (await participant.events()).map((e) => `${e.kind}:${e.name}`); },

    /**
     * Wait until an event named `name` (kind 'callback' or 'error') satisfies `match(data)`.
     * Resolves with the event; rejects with the list of events seen when the deadline passes.
     */
    async waitForEvent(name, { kind, timeoutMs = 10_000, match = () => true } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const evs = await participant.events();
        const hit = evs.find((e) => e.name === name && (kind == null || e.kind === kind) && match(e.data));
        if (hit) return hit;
        if (Date.now() > deadline) {
          const seen = evs.map((e) => `${e.kind}:${e.name}${e.data != null ? ' ' + short(JSON.stringify(e.data), 160) : ''}`);
          throw new Error(`${label}: no ${kind ?? 'event'} "${name}" within ${timeoutMs} ms; events seen:\n  ${seen.join('\n  ') || '(none)'}`);
        }
        await sleep(100);
      }
    },

    /** Inbound RTP figures of the page's RTCPeerConnection for its stream (see pages/common.js). */
    stats() { return page.evaluate(() => window.readStats()); },

    /** Text frames as parsed JSON objects, ping/pong left out. */
    signaling() {
      return frames
        .filter((f) => f.dir === 'sent' || f.dir === 'recv')
        .map((f) => { try { return { dir: f.dir, t: f.t, msg: JSON.parse(f.payload) }; } catch { return { dir: f.dir, t: f.t, raw: f.payload }; } })
        .filter((f) => !(f.msg && (f.msg.command === 'ping' || f.msg.command === 'pong')));
    },

    /** Full record, for a failure dump. */
    async evidence() {
      let events = null;
      let stats = null;
      try { events = await participant.events(); } catch (e) { events = `unavailable: ${e.message}`; }
      try { stats = await participant.stats(); } catch (e) { stats = `unavailable: ${e.message}`; }
      // Pages may expose more state for failure records (window.extraEvidence, optional).
      let extra = null;
      try {
        extra = await page.evaluate(() => (typeof window.extraEvidence === 'function' ? window.extraEvidence() : null));
      } catch (e) { extra = `unavailable: ${e.message}`; }
      return { label, url, events, stats, extra, pageErrors, console: consoleLines, signaling: participant.signaling(), frames };
    },

    async close() { await withTimeout(context.close(), 10_000, `${label}: context.close`).catch(() => {}); },
  };
  return participant;
}

export function short(s, n = 300) {
  if (s == null) return String(s);
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

/** One line per signaling message, SDPs shortened: readable evidence for a failure message. */
export function signalingSummary(p) {
  return p.signaling().map((f) => {
    if (!f.msg) return `${f.dir} ${short(f.raw, 200)}`;
    const m = { ...f.msg };
    if (typeof m.sdp === 'string') m.sdp = `<${m.sdp.length} chars>`;
    if (typeof m.candidate === 'string') m.candidate = short(m.candidate, 90);
    return `${f.dir === 'sent' ? 'C→S' : 'S→C'} ${JSON.stringify(m)}`;
  });
}

/**
 * Write the full evidence of `participants` and the server's stderr to e2e/test-results/<name>.json and
 * print a readable summary to stderr. Use from a test's failure path.
 */
export async function dumpEvidence(name, participants, server) {
  await mkdir(resultsDir, { recursive: true });
  const full = { name, at: new Date().toISOString(), participants: [] };
  const lines = [`===== evidence: ${name} =====`];
  for (const p of participants.filter(Boolean)) {
    const ev = await p.evidence();
    full.participants.push(ev);
    lines.push(`--- ${p.label} (${p.url})`);
    lines.push('  events: ' + (Array.isArray(ev.events)
      ? ev.events.map((e) => `${e.kind}:${e.name}${e.data != null ? ' ' + short(JSON.stringify(e.data), 120) : ''}`).join('\n          ')
      : ev.events));
    lines.push('  stats: ' + JSON.stringify(ev.stats));
    if (ev.extra != null) lines.push('  extra: ' + short(JSON.stringify(ev.extra), 3000));
    if (ev.pageErrors.length) lines.push('  page errors: ' + ev.pageErrors.join('\n    '));
    const cons = ev.console.slice(-30);
    if (cons.length) lines.push('  console (last 30):\n    ' + cons.join('\n    '));
    lines.push('  signaling:\n    ' + signalingSummary(p).slice(0, 80).join('\n    '));
  }
  if (server) {
    full.serverStderr = server.stderr();
    full.serverStdout = server.stdout();
    lines.push('--- tern stderr (last 6000 chars)\n' + server.stderr().slice(-6000));
  }
  const file = path.join(resultsDir, `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.json`);
  await writeFile(file, JSON.stringify(full, null, 2));
  lines.push(`(full record: ${file})`);
  process.stderr.write(lines.join('\n') + '\n');
  return file;
}
