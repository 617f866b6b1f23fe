// Bounded waiting: every wait here has a deadline.
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Call `probe` every `intervalMs` until it returns a truthy value (returned) or `timeoutMs` passes
 * (throws, naming `what` and the last value/exception seen).
 */
export async function waitUntil(probe, { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const shown = last instanceof Error ? `exception ${last.message}` : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${shown}`);
    }
    await sleep(intervalMs);
  }
}

/** Reject after `ms` with a message naming `what` (for steps that have no deadline of their own). */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
