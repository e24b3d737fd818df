'use strict';
/**
 * Jest's Node environment with a quiet console: what a test file logs (the engine's start-up notices,
 * operator lines, an app's audit lines) is held, and printed only when a test or hook of that file
 * fails, after the failure. A passing `npm test` prints Jest's summary alone. `JEST_CONSOLE=1` prints
 * everything as it comes, for working on a test.
 */
const { TestEnvironment } = require('jest-environment-node');

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'];

class QuietEnvironment extends TestEnvironment {
  /** Console calls since the last passing test: [method, args]. */
  #held = [];

  async setup() {
    await super.setup();
    if (process.env.JEST_CONSOLE === '1') return;
    const real = this.global.console;
    const quiet = Object.create(real);
    for (const method of METHODS) {
      if (typeof real[method] !== 'function') continue;
      quiet[method] = (...args) => void this.#held.push([method, args]);
    }
    this.#real = real;
    this.global.console = quiet;
  }

  #real = undefined;

  async handleTestEvent(event) {
    if (this.#real === undefined) return;
    if (event.name === 'test_done') {
      if (event.test.errors.length > 0) this.#flush(`while "${event.test.name}" ran and failed`);
      else this.#held = [];
    } else if (event.name === 'hook_failure') {
      this.#flush(`while the ${event.hook.type} hook failed`);
    } else if (event.name === 'run_finish') {
      // What afterAll hooks logged, when one of them failed: kept for hook_failure above, else dropped.
      this.#held = [];
    }
  }

  #flush(when) {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    this.#real.log(`(console output held ${when}:)`);
    for (const [method, args] of held) this.#real[method](...args);
  }
}

module.exports = QuietEnvironment;
