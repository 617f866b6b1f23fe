// A Redis (Debian's redis-server, on a free loopback port, without persistence) and Tern nodes in
// cluster mode on it, for the cluster tests and benchmarks.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startTern } from './tern-server.mjs';
import { waitUntil } from './poll.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function answers(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** Starts redis-server; `port` to restart one on the port a previous one had. */
export async function startRedis(port) {
  port = port ?? await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited = false;
  child.on('exit', () => { exited = true; });
  child.on('error', () => { exited = true; });
  await waitUntil(async () => exited || answers(port), { timeoutMs: 10_000, what: `redis-server on port ${port}` });
  if (exited) throw new Error('redis-server did not start (is the Debian package redis-server installed?)');
  return {
    port,
    url: `redis://127.0.0.1:${port}/`,
    /** SIGKILL, as a crash would. */
    async kill() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
    stop() { return this.kill(); },
  };
}

/** A Tern node of the cluster on `redis`, named `name` (its node id). */
export async function startNode(redis, name, opts = {}) {
  const node = await startTern({
    ...opts,
    env: { TERN_CLUSTER_REDIS: redis.url, TERN_CLUSTER_NODE_ID: name, ...(opts.env ?? {}) },
  });
  node.name = name;
  node.url = `http://127.0.0.1:${node.httpPort}`;
  return node;
}

/** GET cluster/nodes on `node`: the member list. */
export async function members(node) {
  const res = await node.rest('GET', '/cluster/nodes');
  if (res.status !== 200) throw new Error(`cluster/nodes: ${res.status} ${res.text}`);
  return res.json;
}
