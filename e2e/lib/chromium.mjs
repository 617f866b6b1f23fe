// Launches Debian's Chromium through playwright-core (no Playwright-managed browser download).
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
];

/**
 * Launch one headless Chromium; give each participant its own context (see participant.mjs).
 * @param {object} [opts]
 * @param {string[]} [opts.extraArgs] flags added to CHROMIUM_ARGS
 * @param {string[]} [opts.dropArgs] flags of CHROMIUM_ARGS to leave out (e.g. the fake-UI or fake-device flag)
 * @param {string} [opts.executablePath] instead of CHROMIUM_PATH (e.g. a wrapper that runs it in a network namespace)
 */
export function launchChromium({ extraArgs = [], dropArgs = [], executablePath = CHROMIUM_PATH } = {}) {
  const args = CHROMIUM_ARGS.filter((a) => !dropArgs.includes(a)).concat(extraArgs);
  return chromium.launch({ executablePath, args, timeout: 30_000 });
}
