// The web console (/console/) in Chromium: an official-SDK publisher's stream shows up within 2 s with its
// viewer count, plays in the console's preview, and ends for its player when the operator stops it there;
// settings saved in the console are what REST returns; a broadcast named like markup is shown as text, with
// no dialog and no CSP violation; a console outside console_allowed_cidr answers 403; a console with a
// password asks for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { startTestEnv, uniqueStreamId } from '../lib/test-env.mjs';
import { startTern, ternRequest } from '../lib/tern-server.mjs';
import { waitUntil, withTimeout } from '../lib/poll.mjs';
import { short } from '../lib/participant.mjs';

// The app's STUN server, a loopback address: the preview's SDK takes the app's ICE servers, and nothing in
// this test may talk to a STUN server off this machine.
const CONFIG = '[apps.LiveApp]\nstunServerURI = "stun:127.0.0.1:9"\n';
const HOSTILE = '<img src=x onerror=alert(1)>';

let env;
/** The console page on the main server (opened by the first test, used by the following ones). */
let con;
const id = uniqueStreamId('console');
let publisher;
let player;

before(async () => { env = await startTestEnv({ configToml: CONFIG }); });
after(async () => {
  await con?.close();
  await env?.close();
});

/**
 * Open the console of the tern at `baseUrl` in a new browser context, recording what a reviewer needs: the
 * browser console, page errors, dialogs (each dismissed), CSP violations seen by the page, and requests.
 */
async function openConsole(browser, baseUrl, label = 'console') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const rec = { label, page, context, console: [], pageErrors: [], dialogs: [], requests: [] };
  page.on('console', (m) => { rec.console.push({ type: m.type(), text: m.text() }); if (rec.console.length > 300) rec.console.shift(); });
  page.on('pageerror', (e) => rec.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('dialog', (d) => { rec.dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => { rec.requests.push(r.url()); if (rec.requests.length > 500) rec.requests.shift(); });
  // Init scripts are injected by the browser's debugging protocol, outside the page's CSP.
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  rec.response = await page.goto(`${baseUrl}/console/`, { waitUntil: 'load' });
  rec.cspViolations = () => page.evaluate(() => window.cspViolations.slice());
  rec.close = () => withTimeout(context.close(), 10_000, `${label}: context.close`).catch(() => {});
  rec.evidence = async () => {
    let body = '';
    let csp = [];
    try { body = await page.locator('body').innerText({ timeout: 2000 }); } catch (e) { body = `unavailable: ${e.message}`; }
    try { csp = await rec.cspViolations(); } catch (e) { csp = [`unavailable: ${e.message}`]; }
    return [
      `--- ${label} page (${page.url()})`,
      `  page errors: ${rec.pageErrors.join('\n    ') || '(none)'}`,
      `  dialogs: ${rec.dialogs.join(', ') || '(none)'}`,
      `  CSP violations: ${csp.join('\n    ') || '(none)'}`,
      `  console (last 30):\n    ${rec.console.slice(-30).map((m) => `[${m.type}] ${short(m.text, 300)}`).join('\n    ')}`,
      `  visible text:\n${short(body, 4000)}`,
    ].join('\n');
  };
  return rec;
}

/** Like env.guard, and the console page's record goes to stderr too on a failure. */
function guard(name, fn) {
  return env.guard(name, async () => {
    try {
      return await fn();
    } catch (e) {
      if (con) process.stderr.write(`${await con.evidence().catch((err) => `console evidence failed: ${err}`)}\n`);
      throw e;
    }
  });
}

const streamRow = (page, streamId) => page.locator(`[data-testid="stream-row"][data-stream-id="${streamId}"]`);
const broadcastRow = (page, streamId) => page.locator(`[data-testid="broadcast-row"][data-stream-id="${streamId}"]`);
const attr = (locator, name) => locator.getAttribute(name, { timeout: 2000 });
const textOf = (locator) => locator.textContent({ timeout: 2000 });

/** Wait until the console's event stream delivered a report (the header says "live"). */
function waitLive(page, what) {
  return waitUntil(async () => (await attr(page.getByTestId('events-state'), 'data-state')) === 'live',
    { timeoutMs: 10_000, what: `${what}: the console's event stream is live` });
}

/** A request with headers of our choosing (ternRequest sends none), for the CSRF check. */
async function post(port, path, body, headers = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text() };
}

test('/ leads to the console, served with the Content-Security-Policy', { timeout: 20_000 }, async () => {
  await guard('console-serving', async () => {
    const port = env.server.httpPort;
    const root = await ternRequest({ port, path: '/' });
    assert.ok(root.status >= 300 && root.status < 400, `GET / answered ${root.status}, not a redirect`);
    assert.match(root.headers.location ?? '', /^(http:\/\/[^/]+)?\/console\/$/, `GET / redirects to /console/ (Location ${root.headers.location})`);
    for (const path of ['/console/', '/console/console.js', '/console/console.css']) {
      const r = await ternRequest({ port, path });
      assert.equal(r.status, 200, `GET ${path}: ${r.status} ${short(r.text, 200)}`);
      const csp = r.headers['content-security-policy'] ?? '';
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
        assert.ok(csp.includes(directive), `GET ${path}: CSP ${JSON.stringify(csp)} has ${directive}`);
      }
    }
  });
});

test('a live stream appears within 2 s of publish_started, with its viewer count', { timeout: 60_000 }, async (t) => {
  await guard('console-live', async () => {
    con = await openConsole(env.browser, env.server.baseUrl());
    assert.equal(con.response?.status(), 200, 'the console page loads');
    await waitLive(con.page, 'console');
    assert.equal(await con.page.getByTestId('login').isVisible(), false, 'no login form without a password');

    publisher = await env.publisher(id);
    const row = streamRow(con.page, id);
    // Watch for the row while the publisher starts, so that the time it appeared is not late by the wait below.
    const appeared = waitUntil(async () => ((await row.count()) > 0 ? Date.now() : 0),
      { timeoutMs: 15_000, intervalMs: 50, what: `a console row for ${id}` });
    appeared.catch(() => {});
    const started = await publisher.waitForEvent('publish_started', { kind: 'callback', timeoutMs: 10_000 });
    // Both pages' clocks are this machine's: the publisher's performance.now() plus its timeOrigin is epoch ms.
    const startedAt = (await publisher.page.evaluate(() => performance.timeOrigin)) + started.t;
    const lag = (await appeared) - startedAt;
    t.diagnostic(`the stream's row appeared ${Math.round(lag)} ms after publish_started`);
    assert.ok(lag <= 2000, `the row appeared ${Math.round(lag)} ms after publish_started (more than 2 s)`);

    assert.equal(await textOf(row.getByTestId('stream-id')), id);
    assert.equal(await attr(row, 'data-app'), 'LiveApp');
    assert.equal(await textOf(row.getByTestId('stream-source')), 'WebRTC', 'an SDK publisher is a WebRTC source');
    assert.equal(await textOf(row.getByTestId('viewer-count')), '0', 'no viewers before the player');

    player = await env.player(id, 'player');
    await player.waitForEvent('play_started', { kind: 'callback', timeoutMs: 10_000 });
    await waitUntil(async () => (await textOf(row.getByTestId('viewer-count'))) === '1',
      { timeoutMs: 5000, what: 'the viewer count shows 1' });

    // The publisher's track figures come once media flows.
    await waitUntil(async () => /VP8|H264/i.test(await textOf(row.getByTestId('stream-codec'))),
      { timeoutMs: 10_000, what: 'the codec column names the video codec' });
    const cells = {};
    for (const c of ['codec', 'resolution', 'bitrate', 'fps']) cells[c] = await textOf(row.getByTestId(`stream-${c}`));
    t.diagnostic(`row: ${JSON.stringify(cells)}`);

    // The viewer list: one WebRTC viewer from this machine.
    await row.getByTestId('viewers-toggle').click();
    const detail = con.page.locator(`[data-testid="viewers-row"][data-stream-id="${id}"]`);
    await detail.waitFor({ state: 'visible', timeout: 3000 });
    await waitUntil(async () => (await detail.getByTestId('viewer-row').count()) === 1,
      { timeoutMs: 5000, what: 'one row in the viewer list' });
    assert.equal(await textOf(detail.getByTestId('viewer-kind')), 'WebRTC');
    // The address its media goes to, one of this machine's (Chromium may pick any local interface's candidate),
    // comes with the server's first quality sample of the connection (every 2 s).
    const local = Object.values(networkInterfaces()).flat().map((i) => i.address);
    await waitUntil(async () => local.includes(await textOf(detail.getByTestId('viewer-ip'))),
      { timeoutMs: 6000, what: `the viewer's address shown, one of ${local.join(', ')}` });
    t.diagnostic(`viewer: ${(await detail.getByTestId('viewer-row').innerText()).replace(/\s+/g, ' ')}`);
  });
});

test('the preview plays the stream in the console, with Tern\'s SDK, as one more viewer', { timeout: 45_000 }, async () => {
  await guard('console-preview', async () => {
    assert.ok(con && player, 'the previous test did not open the console and a player');
    const row = streamRow(con.page, id);
    await row.getByTestId('preview-button').click();
    const status = con.page.getByTestId('preview-status');
    await waitUntil(async () => (await attr(status, 'data-state')) === 'playing',
      { timeoutMs: 15_000, what: `preview play_started (status ${await textOf(status).catch(() => '?')})` });
    await waitUntil(() => con.page.evaluate(() => {
      const v = document.querySelector('[data-testid="preview-video"]');
      return v.videoWidth > 0 && v.currentTime > 0;
    }), { timeoutMs: 15_000, what: 'the preview <video> shows frames' });
    await waitUntil(async () => (await textOf(row.getByTestId('viewer-count'))) === '2',
      { timeoutMs: 5000, what: 'the viewer count shows 2 with the preview' });
  });
});

test('stopping the stream in the console ends it for its player', { timeout: 45_000 }, async () => {
  await guard('console-stop', async () => {
    assert.ok(con && player, 'the previous tests did not open the console and a player');
    const row = streamRow(con.page, id);
    const stop = row.getByTestId('stop-button');
    await stop.click();
    // The first click only arms the button, so a stray click stops nothing.
    assert.match(await attr(stop, 'class'), /\barmed\b/, 'the first click arms the stop button');
    assert.equal(await row.count(), 1, 'the stream is still live after one click');
    await stop.click();
    const ev = await player.waitForEvent('play_finished', { kind: 'callback', timeoutMs: 10_000 });
    assert.equal(ev.data?.streamId, id, `play_finished carries streamId ${JSON.stringify(ev.data)}`);
    await waitUntil(async () => (await streamRow(con.page, id).count()) === 0,
      { timeoutMs: 5000, what: 'the row leaves the live table' });
    await waitUntil(async () => (await attr(con.page.getByTestId('preview-status'), 'data-state')) === 'ended',
      { timeoutMs: 5000, what: 'the preview says the stream ended' });
    await env.retireAll();
  });
});

test('settings saved in the console are what REST returns', { timeout: 30_000 }, async (t) => {
  await guard('console-settings', async () => {
    assert.ok(con, 'the console page is open');
    const page = con.page;
    await page.getByTestId('app-select').selectOption('LiveApp');
    const editor = page.getByTestId('settings-editor');
    const message = page.getByTestId('settings-message');
    await waitUntil(async () => (await attr(editor, 'data-loaded-app')) === 'LiveApp',
      { timeoutMs: 5000, what: 'the settings editor holds LiveApp\'s settings' });
    const shown = JSON.parse(await editor.inputValue());
    const before = (await env.server.rest('GET', '/settings')).json;
    assert.deepEqual(shown, before, 'the editor shows what REST returns');

    // Not JSON: said on the page, nothing sent.
    await editor.fill('{"webRTCViewerLimit": ');
    await page.getByTestId('settings-save').click();
    await waitUntil(async () => /not valid JSON/i.test(await textOf(message)), { timeoutMs: 3000, what: 'a JSON parse error shown' });
    assert.equal(await attr(message, 'data-state'), 'error');

    // Refused by the server: its reason is shown.
    await editor.fill(JSON.stringify({ ...before, webRTCViewerLimit: -5 }, null, 2));
    await page.getByTestId('settings-save').click();
    await waitUntil(async () => /^not saved/.test(await textOf(message)), { timeoutMs: 5000, what: 'the server\'s refusal shown' });
    t.diagnostic(`refusal: ${await textOf(message)}`);
    assert.match(await textOf(message), /webRTCViewerLimit/, 'the refusal names the setting');
    assert.deepEqual((await env.server.rest('GET', '/settings')).json, before, 'a refused save changes nothing');

    const wanted = { ...before, webRTCViewerLimit: 7, timeTokenPeriod: before.timeTokenPeriod + 30, dataChannelPlayerDistribution: 'publisher' };
    await editor.fill(JSON.stringify(wanted, null, 2));
    await page.getByTestId('settings-save').click();
    await waitUntil(async () => /^saved/.test(await textOf(message)), { timeoutMs: 5000, what: 'the save confirmed' });
    const after = (await env.server.rest('GET', '/settings')).json;
    assert.deepEqual(after, wanted, 'REST returns the settings saved in the console');
    assert.deepEqual(JSON.parse(await editor.inputValue()), wanted, 'the editor shows them after the save');
  });
});

test('a broadcast named like markup is listed as text: no <img>, no dialog, no CSP violation', { timeout: 30_000 }, async () => {
  await guard('console-xss', async () => {
    assert.ok(con, 'the console page is open');
    const page = con.page;
    const viaRest = uniqueStreamId('xss');
    const created = await env.server.rest('POST', '/broadcasts/create', { streamId: viaRest, name: HOSTILE });
    assert.equal(created.status, 200, `create: ${created.text}`);
    await page.getByTestId('broadcasts-refresh').click();
    const row = broadcastRow(page, viaRest);
    await row.waitFor({ timeout: 5000 });
    assert.equal(await textOf(row.getByTestId('broadcast-name')), HOSTILE, 'the name is shown as it is');

    // One made in the console's own form, with the same name.
    const viaConsole = uniqueStreamId('xss_form');
    await page.getByTestId('create-id').fill(viaConsole);
    await page.getByTestId('create-name').fill(HOSTILE);
    await page.getByTestId('create-submit').click();
    const formRow = broadcastRow(page, viaConsole);
    await formRow.waitFor({ timeout: 5000 });
    assert.equal(await textOf(formRow.getByTestId('broadcast-name')), HOSTILE);
    const stored = await env.server.rest('GET', `/broadcasts/${viaConsole}`);
    assert.equal(stored.json?.name, HOSTILE, `REST has the console's broadcast: ${stored.text}`);

    // A mint for it shows the token id as text.
    await formRow.getByTestId('broadcast-token').click();
    await page.getByTestId('token-type').selectOption('play');
    await page.getByTestId('token-mint').click();
    await waitUntil(async () => /^[A-Za-z0-9]{8,}$/.test((await textOf(page.getByTestId('token-result'))) ?? ''),
      { timeoutMs: 5000, what: `a token id shown (${await textOf(page.getByTestId('token-expiry')).catch(() => '?')})` });

    // And deleting it from the console removes it.
    const del = formRow.getByTestId('delete-button');
    await del.click();
    await del.click();
    await waitUntil(async () => (await broadcastRow(page, viaConsole).count()) === 0,
      { timeoutMs: 5000, what: 'the deleted broadcast leaves the list' });
    assert.equal((await env.server.rest('GET', `/broadcasts/${viaConsole}`)).status, 404, 'REST no longer has it');

    assert.equal(await page.getByTestId('broadcasts-list').locator('img').count(), 0, 'no <img> in the broadcast list');
    assert.equal(await page.locator('img').count(), 0, 'no <img> anywhere on the page');
    assert.deepEqual(con.dialogs, [], 'no dialog opened');
    assert.deepEqual(con.requests.filter((u) => /\/x(\?|$)/.test(u)), [], 'no request for the <img> source');
    // Over everything this page did so far (live table, preview with the SDK, forms): nothing the CSP refused.
    assert.deepEqual(await con.cspViolations(), [], 'no CSP violation seen by the page');
    const refused = con.console.filter((m) => m.type === 'error' && /Content Security Policy|Refused to/i.test(m.text));
    assert.deepEqual(refused, [], 'no CSP refusal in the browser console');
    assert.deepEqual(con.pageErrors, [], 'no page errors');
  });
});

test('mutating console calls without the X-Tern-Console header are refused', { timeout: 15_000 }, async () => {
  await guard('console-csrf', async () => {
    const before = (await env.server.rest('GET', '/broadcasts/count')).json?.number;
    const csrfId = uniqueStreamId('csrf');
    const r = await post(env.server.httpPort, '/console/api/rest/LiveApp/rest/v2/broadcasts/create', { streamId: csrfId });
    assert.ok(r.status >= 400 && r.status < 500, `POST without the header answered ${r.status} ${short(r.text, 200)}`);
    assert.equal((await env.server.rest('GET', `/broadcasts/${csrfId}`)).status, 404, 'nothing was created');
    const ok = await post(env.server.httpPort, '/console/api/rest/LiveApp/rest/v2/broadcasts/create', { streamId: csrfId }, { 'x-tern-console': '1' });
    assert.equal(ok.status, 200, `the same POST with the header: ${ok.status} ${short(ok.text, 200)}`);
    assert.equal((await env.server.rest('GET', '/broadcasts/count')).json?.number, before + 1);
  });
});

test('a client outside console_allowed_cidr gets 403 on every console path', { timeout: 40_000 }, async () => {
  const other = await startTern({ extraArgs: ['--console-allowed-cidr', '10.9.9.0/24'] });
  try {
    for (const path of ['/console/', '/console/console.js', '/console/api/session', '/console/api/events',
      '/console/api/rest/LiveApp/rest/v2/settings']) {
      const r = await ternRequest({ port: other.httpPort, path, timeoutMs: 3000 });
      assert.equal(r.status, 403, `GET ${path} from 127.0.0.1: ${r.status} ${short(r.text, 200)}`);
    }
    const login = await ternRequest({ port: other.httpPort, method: 'POST', path: '/console/api/login', body: { password: 'x' }, timeoutMs: 3000 });
    assert.equal(login.status, 403, `POST /console/api/login: ${login.status}`);
    // REST itself keeps its own filter: the console's setting does not close it.
    assert.equal((await other.rest('GET', '/settings')).status, 200, 'REST from 127.0.0.1 still answers');
  } catch (e) {
    process.stderr.write(`--- tern (console_allowed_cidr 10.9.9.0/24) stderr\n${other.stderr().slice(-4000)}\n`);
    throw e;
  } finally {
    await other.stop();
  }
});

test('with a console password the page asks for it: a wrong one is refused, the right one opens the console', { timeout: 60_000 }, async () => {
  const locked = await startTern({ extraArgs: ['--console-password', 'secret'] });
  let page;
  try {
    const port = locked.httpPort;
    const session = await ternRequest({ port, path: '/console/api/session' });
    assert.equal(session.status, 200, `session: ${session.text}`);
    assert.deepEqual({ loginRequired: session.json?.loginRequired, loggedIn: session.json?.loggedIn },
      { loginRequired: true, loggedIn: false });
    for (const path of ['/console/api/events', '/console/api/rest/LiveApp/rest/v2/settings']) {
      const r = await ternRequest({ port, path, timeoutMs: 3000 });
      assert.equal(r.status, 401, `GET ${path} before logging in: ${r.status} ${short(r.text, 200)}`);
    }

    page = await openConsole(env.browser, locked.baseUrl(), 'locked console');
    const p = page.page;
    await p.getByTestId('login-form').waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await p.getByTestId('console').isVisible(), false, 'no console before logging in');

    await p.getByTestId('login-password').fill('wrong');
    await p.getByTestId('login-submit').click();
    const error = p.getByTestId('login-error');
    await error.waitFor({ state: 'visible', timeout: 5000 });
    assert.ok(((await textOf(error)) ?? '').trim().length > 0, 'the error says something');
    assert.equal(await p.getByTestId('console').isVisible(), false, 'a wrong password opens nothing');

    await p.getByTestId('login-password').fill('secret');
    await p.getByTestId('login-submit').click();
    await p.getByTestId('console').waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await p.getByTestId('login').isVisible(), false, 'the login form is gone');
    await waitLive(p, 'locked console');
    await waitUntil(async () => (await p.locator('[data-testid="app-section"][data-app="LiveApp"]').count()) === 1,
      { timeoutMs: 5000, what: 'the apps listed after logging in' });

    const cookies = await page.context.cookies(`${locked.baseUrl()}/console/`);
    assert.ok(cookies.some((c) => c.httpOnly && c.sameSite === 'Strict'),
      `an HttpOnly SameSite=Strict session cookie: ${JSON.stringify(cookies.map(({ value, ...c }) => c))}`);

    // Logging out ends the session: back to the form, and the server no longer knows this browser.
    await p.getByTestId('logout').click();
    await p.getByTestId('login-form').waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await p.getByTestId('console').isVisible(), false, 'the console is hidden after logging out');
    const after = await p.evaluate(() => fetch('/console/api/session').then((r) => r.json()));
    assert.deepEqual(after, { loginRequired: true, loggedIn: false }, 'the session after logging out');

    assert.deepEqual(page.pageErrors, [], 'no page errors');
    assert.deepEqual(await page.cspViolations(), [], 'no CSP violation');
  } catch (e) {
    if (page) process.stderr.write(`${await page.evidence()}\n`);
    process.stderr.write(`--- tern (console password) stderr\n${locked.stderr().slice(-4000)}\n`);
    throw e;
  } finally {
    await page?.close();
    await locked.stop();
  }
});
