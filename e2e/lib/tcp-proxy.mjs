// A TCP relay on 127.0.0.1 in front of tern's HTTP port, so a test can cut a page's WebSocket the way a
// network drop does: both halves are reset (RST), without a WebSocket close handshake.
import net from 'node:net';

/**
 * @param {number} targetPort port on 127.0.0.1 to relay to
 * @returns {Promise<{port: number, accepted: () => number, open: () => number, dropAll: () => number, close: () => Promise<void>}>}
 */
export async function startTcpProxy(targetPort) {
  const pairs = new Set();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const done = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    /** Connections accepted so far. */
    accepted: () => accepted,
    /** Connections open now. */
    open: () => pairs.size,
    /** Reset every open connection on both sides; returns how many were cut. */
    dropAll() {
      const n = pairs.size;
      for (const { client, upstream } of [...pairs]) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      return n;
    },
    close() {
      for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy(); }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
