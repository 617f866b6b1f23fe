// Environment for tests of Tern's own SDK: a tern server (serving the repository's sdk/ through
// TERN_SDK_DIR), the static page server, and one Chromium launched with the flags a test needs.
// Pages opened with open()/openSample() are closed by closePages() (call it in afterEach).
import { startTern } from './tern-server.mjs';
import { startStaticServer } from './static-server.mjs';
import { launchChromium } from './chromium.mjs';
import { openParticipant, dumpEvidence } from './participant.mjs';
import { openTernPage } from './sdk-harness.mjs';
import { withTimeout } from './poll.mjs';

/**
 * @param {object} [opts]
 * @param {string[]} [opts.extraArgs] Chromium flags to add
 * @param {string[]} [opts.dropArgs] Chromium flags to leave out
 * @param {boolean} [opts.tern] start a tern server (default true)
 * @param {string} [opts.configToml] tern's configuration file text
 */
export async function startSdkEnv({ extraArgs = [], dropArgs = [], tern = true, configToml } = {}) {
  const server = tern ? await startTern({ configToml }) : null;
  let web;
  let browser;
  try {
    web = await startStaticServer();
    browser = await launchChromium({ extraArgs, dropArgs });
  } catch (e) {
    await web?.close();
    await server?.stop();
    throw e;
  }
  const pages = [];

  const env = {
    server,
    web,
    browser,
    pages,
    /** ws URL of tern's LiveApp (or a dead one without tern). */
    wsUrl(app = 'LiveApp') {
      return env.server ? env.server.wsUrl(app) : 'ws://127.0.0.1:9/LiveApp/websocket';
    },
    /** URL of an e2e page on the static server. */
    pageUrl(page, params = {}, host = 'localhost') {
      return web.pageUrl(page, { ws: env.wsUrl(), ...params }, host);
    },
    /** Open pages/tern-sdk.html (with its harness helpers) in a new context. */
    async open(label, { params = {}, host = 'localhost', grant = false } = {}) {
      const p = await openTernPage(browser, env.pageUrl('tern-sdk.html', params, host), label);
      pages.push(p);
      if (grant) await p.context.grantPermissions(['camera', 'microphone']);
      return p;
    },
    /** Open any URL in a new context (sample pages served by tern, the official SDK's pages, ...). */
    async openUrl(url, label) {
      const p = await openParticipant(browser, url, label);
      pages.push(p);
      return p;
    },
    /** URL of a sample page tern serves from the repository's sdk/samples. */
    sampleUrl(page, params = {}, app = 'LiveApp') {
      const u = new URL(`http://127.0.0.1:${env.server.httpPort}/${app}/${page}`);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
      return u.toString();
    },
    /**
     * Stop tern and start it again on the same ports (pages see their sockets and connections drop).
     * @param {number} [downMs] how long the server stays away
     */
    async restartTern(downMs = 0) {
      const old = env.server;
      const httpAddr = `127.0.0.1:${old.httpPort}`;
      const mediaAddr = `127.0.0.1:${old.mediaPort}`;
      await old.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      env.server = await startTern({ httpAddr, mediaAddr, configToml });
      return env.server;
    },
    /** A REST v2 call on tern (from 127.0.0.1, which tern's default IP filter allows). */
    async rest(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${env.server.httpPort}/LiveApp/rest/v2${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = text; }
      return { status: res.status, body: json };
    },
    async closePages() {
      for (const p of pages.splice(0)) await p.close();
    },
    /** Run a test body; on failure write the evidence of the open pages (and tern's log) first. */
    async guard(name, fn) {
      try {
        return await fn();
      } catch (e) {
        await dumpEvidence(`sdk-${name}`, pages, env.server).catch((err) => process.stderr.write(`evidence dump failed: ${err}\n`));
        throw e;
      }
    },
    async close() {
      await env.closePages();
      await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
      await web.close();
      await env.server?.stop();
    },
  };
  return env;
}
