// A small logger: debug and info lines only when the adaptor was built with `debug: true`,
// warnings and errors always. Never logs tokens or SDP bodies at info level.

/**
 * @typedef {object} LogSink
 * @property {(...args: unknown[]) => void} debug
 * @property {(...args: unknown[]) => void} info
 * @property {(...args: unknown[]) => void} warn
 * @property {(...args: unknown[]) => void} error
 */

export class Logger {
  /**
   * @param {object} [opts]
   * @param {boolean} [opts.debug] print debug and info lines
   * @param {string} [opts.prefix] put in front of every line, e.g. "tern"
   * @param {LogSink} [opts.sink] where lines go (console by default)
   */
  constructor({ debug = false, prefix = 'tern', sink = console } = {}) {
    this.verbose = debug;
    this.prefix = `[${prefix}]`;
    this.sink = sink;
  }

  /** @param {...unknown} args */
  debug(...args) {
    if (this.verbose) this.sink.debug(this.prefix, ...args);
  }

  /** @param {...unknown} args */
  info(...args) {
    if (this.verbose) this.sink.info(this.prefix, ...args);
  }

  /** @param {...unknown} args */
  warn(...args) {
    this.sink.warn(this.prefix, ...args);
  }

  /** @param {...unknown} args */
  error(...args) {
    this.sink.error(this.prefix, ...args);
  }

  /**
   * A logger that writes through this one with a longer prefix.
   * @param {string} name
   */
  child(name) {
    const child = new Logger({ debug: this.verbose, prefix: '', sink: this.sink });
    child.prefix = `${this.prefix}[${name}]`;
    return child;
  }
}
