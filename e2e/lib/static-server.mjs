// A minimal node:http static server for the test pages and the client libraries they load.
//   /pages/...            -> e2e/pages/...
//   /sdk/webrtc_adaptor.js -> the official SDK's browser (UMD) bundle
//   /mediapipe/...        -> @mediapipe/selfie_segmentation package files
//   /tern-sdk/...         -> Tern's own SDK modules (repository sdk/src)
//   /whip-whep/...        -> the whip-whep package (Medooze's WHIP and WHEP clients, plain ES modules)
//   /hlsjs/...            -> hls.js's dist folder (the HLS player of pages/hls.html)
// Every response carries "Permissions-Policy: display-capture=()" (screen capture refused at once), unless
// the URL has ?displayCapture=allow.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pagesDir = path.join(e2eDir, 'pages');
const sdkBundle = path.join(e2eDir, 'node_modules', '@antmedia', 'webrtc_adaptor', 'dist', 'browser', 'webrtc_adaptor.js');
const mediapipeDir = path.join(e2eDir, 'node_modules', '@mediapipe', 'selfie_segmentation');
const ternSdkDir = path.resolve(e2eDir, '..', 'sdk', 'src');
const whipWhepDir = path.join(e2eDir, 'node_modules', 'whip-whep');
const hlsJsDir = path.join(e2eDir, 'node_modules', 'hls.js', 'dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Resolve a request path to a file inside an allowed root, or null. */
function resolveFile(urlPath) {
  let rel;
  let root;
  if (urlPath === '/sdk/webrtc_adaptor.js') return sdkBundle;
  if (urlPath.startsWith('/pages/')) { root = pagesDir; rel = urlPath.slice('/pages/'.length); }
  else if (urlPath.startsWith('/mediapipe/')) { root = mediapipeDir; rel = urlPath.slice('/mediapipe/'.length); }
  else if (urlPath.startsWith('/tern-sdk/')) { root = ternSdkDir; rel = urlPath.slice('/tern-sdk/'.length); }
  else if (urlPath.startsWith('/whip-whep/')) { root = whipWhepDir; rel = urlPath.slice('/whip-whep/'.length); }
  else if (urlPath.startsWith('/hlsjs/')) { root = hlsJsDir; rel = urlPath.slice('/hlsjs/'.length); }
  else return null;
  const file = path.resolve(root, decodeURIComponent(rel));
  if (!file.startsWith(root + path.sep)) return null; // no escaping the root
  return file;
}

/**
 * Start the static server on a free port of 127.0.0.1 (or of `host`, e.g. "0.0.0.0" for pages loaded from
 * another network namespace).
 * @param {{host?: string}} [opts]
 */
export async function startStaticServer({ host = '127.0.0.1' } = {}) {
  const server = http.createServer(async (req, res) => {
    const reqUrl = new URL(req.url, 'http://localhost');
    const urlPath = reqUrl.pathname;
    if (urlPath === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    const file = resolveFile(urlPath);
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405); res.end(); return; }
    if (!file) { res.writeHead(404); res.end('not found'); return; }
    try {
      const body = await readFile(file);
      const headers = {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store',
      };
      // Screen capture is not wanted unless asked for: make getDisplayMedia fail at once.
      if (reqUrl.searchParams.get('displayCapture') !== 'allow') headers['permissions-policy'] = 'display-capture=()';
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404); res.end('not found');
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = server.address().port;
  return {
    port,
    /** URL of a page with query parameters, on localhost (a secure context) unless another host is given. */
    pageUrl(page, params = {}, host = 'localhost') {
      const u = new URL(`http://${host}:${port}/pages/${page}`);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
      return u.toString();
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}
