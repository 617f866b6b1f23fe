// Everything one test file needs: a tern server, the static page server, one Chromium, and its participants.
import { randomBytes } from 'node:crypto';
import { startTern } from './tern-server.mjs';
import { startStaticServer } from './static-server.mjs';
import { launchChromium } from './chromium.mjs';
import { openParticipant, dumpEvidence } from './participant.mjs';
import { withTimeout } from './poll.mjs';

/** A stream id that is unique per call and valid for Ant Media ([A-Za-z0-9_.-]). */
export function uniqueStreamId(prefix = 'stream') {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * @param {object} [opts]
 * @param {string} [opts.configToml] config file text for tern
 * @param {object} [opts.ternOpts] more options of startTern (tls, dataDir, env, ...)
 * @param {{extraArgs?: string[], dropArgs?: string[]}} [opts.chromium] flags for launchChromium
 */
export async function startTestEnv(opts = {}) {
  const server = await startTern({ ...(opts.ternOpts ?? {}), configToml: opts.configToml });
  let web;
  let browser;
  try {
    web = await startStaticServer();
    browser = await launchChromium(opts.chromium ?? {});
  } catch (e) {
    await web?.close();
    await server.stop();
    throw e;
  }
  const participants = [];

  const env = {
    server,
    web,
    browser,
    participants,
    /** Open `page` (publish.html / play.html) for stream `id` on `app` in a new browser context. */
    async open(page, { id, app = 'LiveApp', label, ...extra }) {
      const url = web.pageUrl(page, { ws: server.wsUrl(app), id, ...extra });
      const p = await openParticipant(browser, url, label ?? page);
      participants.push(p);
      return p;
    },
    publisher(id, opts = {}) { return env.open('publish.html', { id, label: 'publisher', ...opts }); },
    player(id, label, opts = {}) { return env.open('play.html', { id, label, ...opts }); },
    /** Close a participant and leave it out of later evidence dumps. */
    async retire(p) {
      const i = participants.indexOf(p);
      if (i >= 0) participants.splice(i, 1);
      await p.close();
    },
    /** Retire every open participant (e.g. in afterEach, for test files whose tests share nothing). */
    async retireAll() {
      for (const p of participants.splice(0)) await p.close();
    },
    /** Write evidence of all participants + tern stderr (call on failure). */
    evidence(name) { return dumpEvidence(name, participants, server); },
    /**
     * Run a test body; on failure dump the evidence before re-throwing. Keeps every test's failure readable.
     */
    async guard(name, fn) {
      try {
        return await fn();
      } catch (e) {
        await env.evidence(name).catch((err) => process.stderr.write(`evidence dump failed: ${err}\n`));
        throw e;
      }
    },
    async close() {
      for (const p of participants) await p.close();
      await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
      await web.close();
      await server.stop();
    },
  };
  return env;
}
