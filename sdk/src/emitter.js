// A tiny typed event emitter. A listener that throws is logged and does not stop the
// others, nor the SDK: an app bug in a callback must not break signaling.

/**
 * @template T
 * @typedef {(detail: T) => void} Listener
 */

/**
 * @template {Record<string, any>} Events
 */
export class Emitter {
  /** @param {{error: (...args: unknown[]) => void}} log */
  constructor(log) {
    this.log = log;
    /** @type {Map<keyof Events, Set<Listener<any>>>} */
    this.listeners = new Map();
  }

  /**
   * @template {keyof Events} K
   * @param {K} type
   * @param {Listener<Events[K]>} fn
   */
  on(type, fn) {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(fn);
  }

  /**
   * @template {keyof Events} K
   * @param {K} type
   * @param {Listener<Events[K]>} fn
   */
  off(type, fn) {
    this.listeners.get(type)?.delete(fn);
  }

  /**
   * @template {keyof Events} K
   * @param {K} type
   * @param {Events[K]} detail
   */
  emit(type, detail) {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(detail);
      } catch (e) {
        this.log.error(`a "${String(type)}" listener threw:`, e);
      }
    }
  }
}
