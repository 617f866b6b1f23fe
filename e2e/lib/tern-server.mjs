// Starts and stops the tern binary on free loopback ports for one test file (or one benchmark run).
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createWriteStream, existsSync } from 'node:fs';
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

// The ready line names the TURN listeners when they run, and ends with " tls"
// when tern serves HTTPS/WSS.
const READY_RE = /^tern listening http=([^\s]+):(\d+) media=([^\s]+):(\d+)(?: turn=([^\s]+):(\d+))?(?: turns=([^\s]+):(\d+))?(?: rtmp=[^\s]+:(\d+))?(?: srt=[^\s]+:(\d+))?( tls)?\s*$/;
const KEEP_LOG_CHARS = 200_000;

function appendBounded(buf, chunk) {
  const next = buf + chunk;
  return next.length > KEEP_LOG_CHARS ? next.slice(next.length - KEEP_LOG_CHARS) : next;
}

/**
 * One HTTP(S) request to tern on 127.0.0.1 (a self-signed certificate is accepted: tests make their own).
 * Resolves with {status, headers, text, json} (json null when the body is not JSON); rejects on a
 * connection error or after `timeoutMs`.
 */
export function ternRequest({ port, tls = false, method = 'GET', path: reqPath, body, timeoutMs = 5000 }) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = (tls ? https : http).request({
      host: '127.0.0.1',
      port,
      method,
      path: reqPath,
      rejectUnauthorized: false,
      servername: tls ? 'localhost' : undefined,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      timeout: timeoutMs,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = null; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${reqPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

async function healthzOk(port, tls, deadline) {
  while (Date.now() < deadline) {
    try {
      const res = await ternRequest({ port, tls, path: '/healthz', timeoutMs: 1000 });
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
 * @param {{cert: string, key: string}} [opts.tls] PEM files: start with --tls-cert/--tls-key (HTTPS and WSS)
 * @param {string} [opts.dataDir] use this data dir (e.g. to restart on the same store); stop() keeps it
 * @param {object} [opts.env] extra environment variables for tern
 */
export async function startTern(opts = {}) {
  const bin = ternBinary();
  if (!existsSync(bin)) throw new Error(`tern binary not found at ${bin} (set TERN_BIN or build it)`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const ownDataDir = opts.dataDir == null;
  const dataDir = ownDataDir ? await mkdtemp(path.join(tmpdir(), 'tern-e2e-')) : opts.dataDir;
  if (!ownDataDir) await mkdir(dataDir, { recursive: true });
  // TURN, RTMP and SRT are off unless a test asks for them (opts.turnAddr,
  // opts.rtmpAddr, opts.srtAddr): their default ports would be shared by the
  // servers of tests that run side by side.
  const args = ['--http-addr', opts.httpAddr ?? '127.0.0.1:0', '--media-addr', opts.mediaAddr ?? '127.0.0.1:0', '--data-dir', dataDir,
    '--turn-addr', opts.turnAddr ?? '', '--rtmp-addr', opts.rtmpAddr ?? '', '--srt-addr', opts.srtAddr ?? ''];
  if (opts.configToml != null) {
    const cfg = path.join(dataDir, 'tern.toml');
    await writeFile(cfg, opts.configToml);
    args.push('--config', cfg);
  }
  if (opts.tls) args.push('--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key);
  if (opts.extraArgs) args.push(...opts.extraArgs);

  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // TERN_SDK_DIR: serve the SDK and sample pages from the repository's sdk/ folder, so SDK changes
    // are tested without rebuilding the server.
    env: { RUST_LOG: process.env.RUST_LOG || 'info', ...process.env, TERN_SDK_DIR: process.env.TERN_SDK_DIR || sdkDir, ...(opts.env ?? {}) },
  });
  let stdout = '';
  let stderr = '';
  let exited = null;
  child.stderr.setEncoding('utf8');
  child.stdout.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr = appendBounded(stderr, d); });
  // TERN_TEST_LOG_DIR keeps every server's whole log, for a failure that needs more than the tail.
  if (process.env.TERN_TEST_LOG_DIR) {
    const file = createWriteStream(path.join(process.env.TERN_TEST_LOG_DIR, `tern-${child.pid}.log`));
    child.stderr.on('data', (d) => file.write(d));
    child.on('exit', () => file.end());
  }
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
          resolve({ httpHost: m[1], httpPort: Number(m[2]), mediaHost: m[3], mediaPort: Number(m[4]), turnPort: m[6] ? Number(m[6]) : null, turnsPort: m[8] ? Number(m[8]) : null, rtmpPort: m[9] ? Number(m[9]) : null, srtPort: m[10] ? Number(m[10]) : null, tls: m[11] != null });
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

  if (opts.tls && !ready.tls) {
    child.kill('SIGKILL');
    throw new Error(failMsg('started with --tls-cert/--tls-key but the ready line does not end with " tls"'));
  }
  if (!(await healthzOk(ready.httpPort, ready.tls, Date.now() + 5000))) {
    child.kill('SIGKILL');
    throw new Error(failMsg(`ready line printed but GET /healthz on port ${ready.httpPort} did not answer 200 within 5 s`));
  }

  const server = {
    pid: child.pid,
    httpPort: ready.httpPort,
    mediaPort: ready.mediaPort,
    /** the TURN server's UDP and TCP port, and its TLS one (null when it does not run) */
    turnPort: ready.turnPort,
    turnsPort: ready.turnsPort,
    /** RTMP ingest's port (null when it does not run) */
    rtmpPort: ready.rtmpPort,
    /** SRT ingest's UDP port (null when it does not run) */
    srtPort: ready.srtPort,
    dataDir,
    /** true when the ready line ended with " tls" (HTTPS and WSS) */
    tls: ready.tls,
    /**
     * ws URL of an application's signaling endpoint (wss://localhost:… when tern serves TLS); `host` instead of
     * 127.0.0.1 for pages in another network namespace (tern started with httpAddr 0.0.0.0:…).
     */
    wsUrl(app = 'LiveApp', host = '127.0.0.1') {
      return ready.tls ? `wss://${host === '127.0.0.1' ? 'localhost' : host}:${ready.httpPort}/${app}/websocket` : `ws://${host}:${ready.httpPort}/${app}/websocket`;
    },
    /** http(s) base URL of tern (https://localhost:… with TLS, matching the certificate tests make) */
    baseUrl() { return ready.tls ? `https://localhost:${ready.httpPort}` : `http://127.0.0.1:${ready.httpPort}`; },
    /** A REST v2 call of `app` from 127.0.0.1: {status, headers, text, json}. */
    rest(method, restPath, body, app = 'LiveApp') {
      return ternRequest({ port: ready.httpPort, tls: ready.tls, method, path: `/${app}/rest/v2${restPath}`, body });
    },
    /** Send `sig` to the process (no-op once it exited). */
    kill(sig = 'SIGTERM') { if (exited == null) child.kill(sig); },
    /** Resolves with {code, signal} when the process exits, or null after `timeoutMs`. */
    waitExit(timeoutMs = 10_000) {
      return Promise.race([exitPromise, new Promise((r) => setTimeout(() => r(null), timeoutMs))]);
    },
    stderr() { return stderr; },
    stdout() { return stdout; },
    exitInfo() { return exited; },
    /** SIGTERM, then SIGKILL after 3 s; removes the data dir (unless opts.dataDir was given). */
    async stop() {
      if (exited == null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => { if (exited == null) child.kill('SIGKILL'); }, 3000);
        await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 5000))]);
        clearTimeout(killTimer);
      }
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
      return exited;
    },
  };
  return server;
}
