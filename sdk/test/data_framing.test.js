import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameBinary, BinaryReassembler, CHUNK_BYTES } from '../src/data_framing.js';

const quiet = { warn() {} };
const bytes = (n, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test('a binary message is a [token, length] header then [token]+16000-byte chunks (Ant Media framing)', () => {
  const data = bytes(CHUNK_BYTES * 2 + 10);
  const frames = frameBinary(data, 4242);
  assert.equal(frames.length, 4);
  const header = new Int32Array(frames[0]);
  assert.deepEqual([...header], [4242, data.byteLength]);
  assert.deepEqual(frames.slice(1).map((f) => f.byteLength), [CHUNK_BYTES + 4, CHUNK_BYTES + 4, 14]);
  for (const f of frames.slice(1)) assert.equal(new Int32Array(f.slice(0, 4))[0], 4242);
});

test('frames reassemble to the original bytes, also with two messages interleaved', () => {
  const a = bytes(40_000, 3);
  const b = bytes(20_000, 7);
  const fa = frameBinary(a, 1);
  const fb = frameBinary(b.buffer, 2);
  const r = new BinaryReassembler(quiet);
  const out = [];
  const order = [fa[0], fb[0], fa[1], fb[1], fa[2], fb[2], fa[3]];
  for (const f of order) {
    const whole = r.push(f);
    if (whole) out.push(new Uint8Array(whole));
  }
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], b);
  assert.deepEqual(out[1], a);
  assert.equal(r.pending.size, 0);
});

test('views of a larger buffer send only their own bytes', () => {
  const big = bytes(100);
  const view = new Uint8Array(big.buffer, 10, 20);
  const frames = frameBinary(view, 9);
  const r = new BinaryReassembler(quiet);
  let whole = null;
  for (const f of frames) whole = r.push(f) ?? whole;
  assert.deepEqual(new Uint8Array(whole), big.slice(10, 30));
});

test('an empty binary message arrives as an empty buffer', () => {
  const frames = frameBinary(new Uint8Array(0), 5);
  assert.equal(frames.length, 1);
  const whole = new BinaryReassembler(quiet).push(frames[0]);
  assert.equal(whole.byteLength, 0);
});

test('malformed frames are dropped with a warning, not thrown', () => {
  const warnings = [];
  const r = new BinaryReassembler({ warn: (m) => warnings.push(m) });
  assert.equal(r.push(new ArrayBuffer(2)), null);
  const header = new ArrayBuffer(8);
  new DataView(header).setInt32(0, 7, true);
  new DataView(header).setInt32(4, -1, true);
  assert.equal(r.push(header), null);
  new DataView(header).setInt32(4, 4, true);
  assert.equal(r.push(header), null);
  const tooLong = new Uint8Array(4 + 10);
  new DataView(tooLong.buffer).setInt32(0, 7, true);
  assert.equal(r.push(tooLong.buffer), null);
  assert.equal(r.pending.size, 0);
  assert.equal(warnings.length, 3);
});
