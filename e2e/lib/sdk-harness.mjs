// Helpers for tests of Tern's own SDK (pages/tern-sdk.html and the sample pages tern serves).
import assert from 'node:assert/strict';
import { openParticipant, short } from './participant.mjs';
import { sleep } from './poll.mjs';

/**
 * Open pages/tern-sdk.html (or another page that defines window.make / window.call) and wait for its module.
 * Adds make(name, options), call(name, method, ...args), eventsOf(adaptor), waitFor(...), errorsOf(adaptor).
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string} label
 */
export async function openTernPage(browser, url, label) {
  const p = await openParticipant(browser, url, label);
  // Module scripts run before 'load', so the harness is ready by now unless one of its modules failed to load.
  // A CI run once saw that for a single page (a static-file fetch, not Tern): reload once, and say so on stderr
  // with the page's own account; a second failure fails the test with it.
  for (let attempt = 1; ; attempt++) {
    const ready = await p.page
      .waitForFunction(() => window.ternReady === true, null, { timeout: 10_000, polling: 100 })
      .then(() => true, () => false);
    if (ready) return withHarness(p);
    const account = JSON.stringify({
      readyState: await p.page.evaluate(() => document.readyState).catch((e) => String(e)),
      pageErrors: p.pageErrors,
      console: p.consoleLines.slice(-20),
    });
    if (attempt >= 2) throw new Error(`${label}: ${url} never set window.ternReady: ${account}`);
    process.stderr.write(`# ${label}: ${url} not ready after 10 s, reloading once: ${account}\n`);
    await p.page.reload({ waitUntil: 'load' });
  }
}

/**
 * Like openTernPage, but as a new tab of an existing browser context (e.g. next to a tab that is
 * to be shared). Closing the returned participant closes that whole context.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} url
 * @param {string} label
 */
export function openTernPageInContext(context, url, label) {
  // openParticipant asks a browser for a new context: hand it the existing one.
  return openTernPage({ newContext: async () => context }, url, label);
}

/** Add the harness helpers to a participant whose page defines window.make/window.call. */
export function withHarness(p) {
  return Object.assign(p, {
    /** Build adaptor `name`; fails the test if the constructor threw. */
    async make(name, options = {}) {
      const err = await p.page.evaluate(([n, o]) => window.make(n, o), [name, options]);
      assert.equal(err, null, `${p.label}: new WebRTCAdaptor threw ${JSON.stringify(err)}`);
    },
    call(name, method, ...args) {
      return p.page.evaluate(([n, m, a]) => window.call(n, m, ...a), [name, method, args]);
    },
    async eventsOf(adaptor) {
      return (await p.events()).filter((e) => adaptor == null || e.adaptor === adaptor);
    },
    /** Definitions raised through callbackError by `adaptor`. */
    async errorsOf(adaptor) {
      return (await p.eventsOf(adaptor)).filter((e) => e.kind === 'error').map((e) => e.name);
    },
    /**
     * Wait (bounded) for an event of `adaptor` named `name` of `kind` whose data satisfies `match`.
     * @param {string} adaptor
     * @param {string} name
     * @param {{kind?: string, timeoutMs?: number, match?: (data: any) => boolean}} [opts]
     */
    async waitFor(adaptor, name, { kind, timeoutMs = 10_000, match = () => true } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const evs = await p.eventsOf(adaptor);
        const hit = evs.find((e) => e.name === name && (kind == null || e.kind === kind) && match(e.data));
        if (hit) return hit;
        if (Date.now() > deadline) {
          const seen = evs.map((e) => `${e.kind}:${e.name}${e.data != null ? ' ' + short(JSON.stringify(e.data), 200) : ''}`);
          throw new Error(`${p.label}/${adaptor}: no ${kind ?? 'event'} "${name}" within ${timeoutMs} ms; events seen:\n  ${seen.join('\n  ') || '(none)'}`);
        }
        await sleep(100);
      }
    },
    /**
     * Assert that `definition` reached the app through both channels (callbackError and the "error"
     * event) and return the callbackError message.
     */
    async expectError(adaptor, definition, { timeoutMs = 10_000 } = {}) {
      const classic = await p.waitFor(adaptor, definition, { kind: 'error', timeoutMs });
      await p.waitFor(adaptor, definition, { kind: 'error-event', timeoutMs: 2000 });
      return classic.data;
    },
  });
}
