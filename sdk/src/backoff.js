// Exponential backoff with jitter, for reconnecting the socket and re-requesting streams.
// Every delay lies in [minDelay, maxMs], so a retry loop can never spin.

export class Backoff {
  /**
   * @param {object} [opts]
   * @param {number} [opts.baseMs] first delay
   * @param {number} [opts.maxMs] largest delay
   * @param {number} [opts.factor] growth per attempt
   * @param {number} [opts.jitter] fraction in [0, 1) taken off at random, so clients that lost
   *   the server together do not come back in lockstep
   * @param {number} [opts.maxAttempts] attempts before next() returns null (Infinity: never)
   * @param {() => number} [opts.random] in [0, 1)
   */
  constructor({ baseMs = 500, maxMs = 10_000, factor = 2, jitter = 0.25, maxAttempts = Infinity, random = Math.random } = {}) {
    if (!(baseMs > 0)) throw new RangeError(`backoff baseMs must be > 0, got ${baseMs}`);
    if (!(maxMs >= baseMs)) throw new RangeError(`backoff maxMs (${maxMs}) must be >= baseMs (${baseMs})`);
    if (!(factor >= 1)) throw new RangeError(`backoff factor must be >= 1, got ${factor}`);
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`backoff jitter must be in [0, 1), got ${jitter}`);
    if (!(maxAttempts >= 1)) throw new RangeError(`backoff maxAttempts must be >= 1, got ${maxAttempts}`);
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.maxAttempts = maxAttempts;
    this.random = random;
    this.attempts = 0;
  }

  /** The smallest delay next() can return. */
  get minDelayMs() {
    return this.baseMs * (1 - this.jitter);
  }

  /**
   * Delay before the next attempt, or null once maxAttempts attempts were handed out.
   * @returns {number | null}
   */
  next() {
    if (this.attempts >= this.maxAttempts) return null;
    const raw = Math.min(this.maxMs, this.baseMs * this.factor ** this.attempts);
    this.attempts += 1;
    const r = Math.min(Math.max(this.random(), 0), 0.999999);
    return Math.round(raw * (1 - this.jitter * r));
  }

  /** Start over (after a success). */
  reset() {
    this.attempts = 0;
  }
}
