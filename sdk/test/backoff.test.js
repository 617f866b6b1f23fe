import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../src/backoff.js';

test('delays double from the base and stop growing at the cap', () => {
  const b = new Backoff({ baseMs: 500, maxMs: 10_000, jitter: 0, random: () => 0 });
  const delays = Array.from({ length: 8 }, () => b.next());
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
});

test('jitter only shortens a delay, never below base*(1-jitter): no tight loop', () => {
  for (const r of [0, 0.25, 0.5, 0.999, 1]) {
    const b = new Backoff({ baseMs: 400, maxMs: 6400, jitter: 0.25, random: () => r });
    for (let i = 0; i < 20; i += 1) {
      const d = b.next();
      assert.ok(d !== null && d >= b.minDelayMs - 1 && d <= 6400, `attempt ${i} random ${r}: ${d}`);
    }
  }
  assert.equal(new Backoff({ baseMs: 400, jitter: 0.25 }).minDelayMs, 300);
});

test('maxAttempts bounds the number of retries; reset starts over', () => {
  const b = new Backoff({ baseMs: 100, maxMs: 1000, maxAttempts: 3, jitter: 0 });
  assert.equal(b.next(), 100);
  assert.equal(b.next(), 200);
  assert.equal(b.next(), 400);
  assert.equal(b.next(), null);
  assert.equal(b.next(), null);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 100);
});

test('the total wait of an unlimited backoff grows linearly once capped (bounded retry rate)', () => {
  const b = new Backoff({ baseMs: 500, maxMs: 10_000, jitter: 0.25, random: () => 0.999 });
  let total = 0;
  for (let i = 0; i < 100; i += 1) total += b.next() ?? 0;
  // 100 attempts can never happen faster than ~100 * 7.5 s once capped.
  assert.ok(total > 90 * 7500, `100 attempts took only ${total} ms`);
});

test('invalid settings are refused', () => {
  assert.throws(() => new Backoff({ baseMs: 0 }), RangeError);
  assert.throws(() => new Backoff({ baseMs: 1000, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ factor: 0.5 }), RangeError);
  assert.throws(() => new Backoff({ jitter: 1 }), RangeError);
  assert.throws(() => new Backoff({ maxAttempts: 0 }), RangeError);
});
