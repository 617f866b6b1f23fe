import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient } from '../src/signaling.js';
import { Backoff } from '../src/backoff.js';
import { Logger } from '../src/logger.js';
import { makeWorld } from '../test-support/fakes.js';

function client(world, { reconnect = true, maxAttempts = Infinity } = {}) {
  const seen = { opens: [], messages: [], closes: [], failures: [] };
  const c = new SignalingClient({
    url: 'ws://h:5080/LiveApp/websocket?target=origin',
    platform: world.platform,
    log: new Logger({ sink: world.logSink }),
    backoff: new Backoff({ baseMs: 500, maxMs: 4000, jitter: 0, maxAttempts }),
    pingIntervalMs: 3000,
    pongTimeoutMs: 10_000,
    reconnect,
    handlers: {
      onOpen: (i) => seen.opens.push(i.reconnected),
      onMessage: (m) => seen.messages.push(m),
      onClose: (_e, i) => seen.closes.push(i.willReconnect),
      onFailure: (e) => seen.failures.push(e),
    },
  });
  return { c, seen };
}

test('messages sent before the socket opens go out in order once it opens', async () => {
  const world = makeWorld();
  const { c, seen } = client(world);
  assert.equal(c.send({ command: 'a' }), true, 'send() connects lazily');
  c.send({ command: 'b' });
  assert.equal(world.sockets.length, 1);
  assert.equal(world.socket.url, 'ws://h:5080/LiveApp/websocket?target=origin');
  assert.deepEqual(world.socket.sent, []);
  world.socket.open();
  assert.deepEqual(world.socket.sent.map((m) => m.command), ['a', 'b']);
  assert.deepEqual(seen.opens, [false]);
  c.send({ command: 'c' });
  assert.deepEqual(world.socket.sent.map((m) => m.command), ['a', 'b', 'c']);
});

test('a ping goes out every 3 s while open', async () => {
  const world = makeWorld();
  world.autoPong = false;
  const { c } = client(world);
  c.connect();
  world.socket.open();
  await world.clock.advance(9000);
  assert.equal(world.socket.sent.filter((m) => m.command === 'ping').length, 3);
  world.socket.receive({ command: 'pong' });
});

test('server frames are parsed; non-JSON and command-less frames are ignored', () => {
  const world = makeWorld();
  const { c, seen } = client(world);
  c.connect();
  world.socket.open();
  world.socket.receive('not json');
  world.socket.receive('[1,2]');
  world.socket.receive({ definition: 'x' });
  world.socket.receive({ command: 'notification', definition: 'publish_started', streamId: 's' });
  assert.deepEqual(seen.messages, [{ command: 'notification', definition: 'publish_started', streamId: 's' }]);
  assert.equal(world.logLines.filter(([l]) => l === 'warn').length, 3);
});

test('a dropped socket reconnects with growing delays, and the backoff resets after a success', async () => {
  const world = makeWorld();
  const { c, seen } = client(world);
  c.connect();
  world.socket.open();
  world.socket.drop();
  assert.deepEqual(seen.closes, [true]);
  assert.equal(c.state, 'waiting');
  const delays = [];
  for (let i = 0; i < 4; i += 1) {
    delays.push(world.clock.pendingDelays()[0]);
    const before = world.sockets.length;
    await world.clock.advance(delays[i]);
    assert.equal(world.sockets.length, before + 1, `attempt ${i + 2} opened a socket`);
    world.socket.fail();
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000]);
  assert.equal(world.clock.pendingDelays()[0], 4000, 'capped');
  assert.equal(seen.failures.length, 1, 'the failure of a series is reported once');
  await world.clock.advance(4000);
  world.socket.open();
  assert.deepEqual(seen.opens, [false, true]);
  world.socket.drop();
  assert.equal(world.clock.pendingDelays()[0], 500, 'backoff reset after the successful open');
});

test('nothing reconnects faster than the backoff allows (no tight loop)', async () => {
  const world = makeWorld();
  const { c } = client(world);
  c.connect();
  // The server refuses every connection for a minute.
  for (let elapsed = 0; elapsed < 60_000; elapsed += 100) {
    if (world.socket.readyState === 0) world.socket.fail();
    await world.clock.advance(100);
  }
  // 500 + 1000 + 2000 + 4000, then every 4 s: about 17 attempts in a minute, never hundreds.
  assert.ok(world.sockets.length <= 20, `${world.sockets.length} sockets in one minute`);
  assert.ok(world.sockets.length >= 12, `${world.sockets.length} sockets: it must keep trying`);
});

test('close() is final: no reconnection, send() refuses', async () => {
  const world = makeWorld();
  const { c, seen } = client(world);
  c.connect();
  world.socket.open();
  c.close();
  assert.equal(c.state, 'closed');
  assert.equal(world.socket.closedWith.code, 1000);
  assert.deepEqual(seen.closes, [false]);
  await world.clock.advance(60_000);
  assert.equal(world.sockets.length, 1);
  assert.equal(c.send({ command: 'publish' }), false);
});

test('without reconnect a drop closes for good', async () => {
  const world = makeWorld();
  const { c, seen } = client(world, { reconnect: false });
  c.connect();
  world.socket.open();
  world.socket.drop();
  assert.deepEqual(seen.closes, [false]);
  assert.equal(c.isClosed, true);
  await world.clock.advance(30_000);
  assert.equal(world.sockets.length, 1);
});

test('an exhausted backoff closes for good', async () => {
  const world = makeWorld();
  const { c, seen } = client(world, { maxAttempts: 2 });
  c.connect();
  world.socket.fail();
  await world.clock.advance(500);
  world.socket.fail();
  await world.clock.advance(1000);
  world.socket.fail();
  assert.equal(world.sockets.length, 3);
  assert.equal(c.isClosed, true);
  assert.deepEqual(seen.closes, [true, true, false]);
  await world.clock.advance(60_000);
  assert.equal(world.sockets.length, 3);
});

test('a socket silent for longer than the pong timeout is replaced', async () => {
  const world = makeWorld();
  world.autoPong = false;
  const { c, seen } = client(world);
  c.connect();
  const first = world.socket;
  first.open();
  // Pongs keep it alive.
  for (let i = 0; i < 5; i += 1) {
    await world.clock.advance(3000);
    first.receive({ command: 'pong' });
  }
  assert.equal(world.sockets.length, 1);
  // Then the server goes silent (half-open TCP): the first unanswered ping goes out 3 s later,
  // and 10 s after it the socket is given up.
  await world.clock.advance(12_000);
  assert.equal(first.closedWith, null, 'not yet');
  await world.clock.advance(3000);
  assert.equal(first.closedWith?.code, 4001);
  assert.deepEqual(seen.closes, [true]);
  await world.clock.advance(500);
  assert.equal(world.sockets.length, 2);
  world.socket.open();
  assert.deepEqual(seen.opens, [false, true]);
});

test('rare timer ticks (a background tab) do not look like a dead server', async () => {
  const world = makeWorld();
  const { c } = client(world);
  c.pingIntervalMs = 60_000;
  c.connect();
  world.socket.open();
  for (let i = 0; i < 5; i += 1) await world.clock.advance(60_000);
  assert.equal(world.sockets.length, 1);
  assert.equal(world.socket.closedWith, null);
  assert.equal(world.socket.sent.filter((m) => m.command === 'ping').length, 5);
});

test('reconnectNow() replaces the socket at once (server_will_stop)', () => {
  const world = makeWorld();
  const { c, seen } = client(world);
  c.connect();
  world.socket.open();
  c.reconnectNow('server_will_stop');
  assert.equal(world.sockets.length, 2);
  assert.equal(world.sockets[0].closedWith.code, 4000);
  world.socket.open();
  assert.deepEqual(seen.closes, [true]);
  assert.deepEqual(seen.opens, [false, true]);
});

test('events of a replaced socket are ignored', () => {
  const world = makeWorld();
  const { c, seen } = client(world);
  c.connect();
  const old = world.socket;
  old.open();
  c.reconnectNow('test');
  old.receive({ command: 'notification', definition: 'late' });
  old.drop();
  assert.deepEqual(seen.messages, []);
  assert.deepEqual(seen.closes, [true]);
});
