// Starts and stops the tern binary on free loopback ports for one test file (or one benchmark run).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
/** The SDK folder tern serves at /{App}/js/ and /{App}/ (see startTern). */
export const sdkDir = path.join(repoRoot, 'sdk');

/** Path of the server binary: $TERN_BIN, else target/release/tern in the repository. */
export function ternBinary() {
  return process.env.TERN_BIN || path.join(repoRoot, 'target', 'release', 'tern');
}

const READY_RE = /^tern listening http=([^\s]+):(\d+) media=([^\s]+):(\d+)\s*$/;
const KEEP_LOG_CHARS = 200_000;

function appendBounded(buf, chunk) {
  const next = buf + chunk;
  return next.length > KEEP_LOG_CHARS ? next.slice(next.length - KEEP_LOG_CHARS) : next;
}

async function healthzOk(port, deadline) {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return true;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Start tern. Resolves once it printed its ready line and /healthz answered 200.
 * @param {object} [opts]
 * @param {string} [opts.configToml] text of a TOML config file to pass with --config
 * @param {number} [opts.readyTimeoutMs] bound on the wait for the ready line (default 20 s)
 * @param {string[]} [opts.extraArgs]
 * @param {string} [opts.httpAddr] instead of 127.0.0.1:0 (e.g. to restart on the same port)
 * @param {string} [opts.mediaAddr] instead of 127.0.0.1:0
 */
export async function startTern(opts = {}) {
  const bin = ternBinary();
  if (!existsSync(bin)) throw new Error(`tern binary not found at ${bin} (set TERN_BIN or build it)`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-'));
  const args = ['--http-addr', opts.httpAddr ?? '127.0.0.1:0', '--media-addr', opts.mediaAddr ?? '127.0.0.1:0', '--data-dir', dataDir];
  if (opts.configToml != null) {
    const cfg = path.join(dataDir, 'tern.toml');
    await writeFile(cfg, opts.configToml);
    args.push('--config', cfg);
  }
  if (opts.extraArgs) args.push(...opts.extraArgs);

  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // TERN_SDK_DIR: serve the SDK and sample pages from the repository's sdk/ folder, so SDK changes
    // are tested without rebuilding the server.
    env: { RUST_LOG: process.env.RUST_LOG || 'info', ...process.env, TERN_SDK_DIR: process.env.TERN_SDK_DIR || sdkDir },
  });
  let stdout = '';
  let stderr = '';
  let exited = null;
  child.stderr.setEncoding('utf8');
  child.stdout.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr = appendBounded(stderr, d); });
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });

  const failMsg = (why) =>
    `tern did not start: ${why}\ncommand: ${bin} ${args.join(' ')}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr.slice(-8000)}`;

  const ready = await new Promise((resolve, reject) => {
    let lineBuf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(failMsg(`no ready line within ${readyTimeoutMs} ms`)));
    }, readyTimeoutMs);
    child.stdout.on('data', (d) => {
      stdout = appendBounded(stdout, d);
      lineBuf += d;
      let nl;
      while ((nl = lineBuf.indexOf('\n')) >= 0) {
        const line = lineBuf.slice(0, nl).replace(/\r$/, '');
        lineBuf = lineBuf.slice(nl + 1);
        const m = READY_RE.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ httpHost: m[1], httpPort: Number(m[2]), mediaHost: m[3], mediaPort: Number(m[4]) });
          return;
        }
      }
    });
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(failMsg(`spawn error ${err.message}`))); });
    exitPromise.then((e) => {
      clearTimeout(timer);
      reject(new Error(failMsg(`exited early (code ${e.code}, signal ${e.signal})`)));
    });
  });

  if (!(await healthzOk(ready.httpPort, Date.now() + 5000))) {
    child.kill('SIGKILL');
    throw new Error(failMsg(`ready line printed but GET /healthz on port ${ready.httpPort} did not answer 200 within 5 s`));
  }

  const server = {
    pid: child.pid,
    httpPort: ready.httpPort,
    mediaPort: ready.mediaPort,
    dataDir,
    /** ws URL of an application's signaling endpoint */
    wsUrl(app = 'LiveApp') { return `ws://127.0.0.1:${ready.httpPort}/${app}/websocket`; },
    stderr() { return stderr; },
    stdout() { return stdout; },
    exitInfo() { return exited; },
    /** SIGTERM, then SIGKILL after 3 s; removes the data dir. */
    async stop() {
      if (exited == null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => { if (exited == null) child.kill('SIGKILL'); }, 3000);
        await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 5000))]);
        clearTimeout(killTimer);
      }
      await rm(dataDir, { recursive: true, force: true });
      return exited;
    },
  };
  return server;
}
