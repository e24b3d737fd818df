/**
 * The suite's output: one line per server × adapter × check, evidence indented under it, facts about
 * each server, and a closing summary whose last line is `idp: N passed, N failed, N skipped`.
 * Checks listed in known-failures.json print `known:` and do not fail the run.
 */
import { readFileSync } from 'node:fs';

/** @typedef {{ server: string, adapter: string, check: string, why: string, see?: string }} KnownFailure */

export class Report {
  /** @type {KnownFailure[]} */
  #known;
  #counts = { passed: 0, failed: 0, known: 0, skipped: 0 };
  /** @type {string[]} */
  #failures = [];
  /** @type {string[]} */
  #fixed = [];

  /** @param {string} knownFailuresFile */
  constructor(knownFailuresFile) {
    this.#known = JSON.parse(readFileSync(knownFailuresFile, 'utf8')).knownFailures;
  }

  /** @returns {KnownFailure | undefined} */
  #knownFailure(server, adapter, check) {
    return this.#known.find((entry) => entry.server === server && (entry.adapter === '*' || entry.adapter === adapter) && entry.check === check);
  }

  /**
   * @param {string} server
   * @param {string} adapter
   * @param {string} check
   * @param {{ ok: boolean, reason: string, ms?: number, evidence?: string[] } | { skip: string }} outcome
   */
  outcome(server, adapter, check, outcome) {
    const where = `${server} × ${adapter} × ${check}`;
    if ('skip' in outcome) {
      this.#counts.skipped++;
      print(`skipped: ${where}: ${outcome.skip}`);
      return;
    }
    const timing = outcome.ms === undefined ? '' : ` (${Math.round(outcome.ms)} ms)`;
    const known = this.#knownFailure(server, adapter, check);
    if (outcome.ok) {
      this.#counts.passed++;
      if (known) this.#fixed.push(where);
      print(`ok:      ${where}: ${outcome.reason}${timing}${known ? ' — listed in known-failures.json, remove it' : ''}`);
    } else if (known) {
      this.#counts.known++;
      print(`known:   ${where}: ${outcome.reason}${timing} — ${known.why}${known.see ? ` (${known.see})` : ''}`);
    } else {
      this.#counts.failed++;
      this.#failures.push(`${where}: ${outcome.reason}`);
      print(`FAIL:    ${where}: ${outcome.reason}${timing}`);
    }
    for (const line of outcome.evidence ?? []) print(`           ${line}`);
  }

  /** A whole server not run (package not installable, server not starting). */
  skipServer(server, why) {
    this.#counts.skipped++;
    print(`skipped: ${server}: ${why}`);
  }

  /** A failure of the suite itself for a server (an adapter that does not start, a check that threw). */
  fail(where, why) {
    this.#counts.failed++;
    this.#failures.push(`${where}: ${why}`);
    print(`FAIL:    ${where}: ${why}`);
  }

  fact(server, line) {
    print(`  [${server}] ${line}`);
  }

  /** Prints the summary; the exit code: 1 when anything failed that is not a known failure. */
  finish() {
    const { passed, failed, known, skipped } = this.#counts;
    print('');
    for (const line of this.#failures) print(`failed: ${line}`);
    for (const line of this.#fixed) print(`now passing, still listed in known-failures.json: ${line}`);
    if (known > 0) print(`known failures (test/idp/known-failures.json), counted as skipped: ${known}`);
    print(`idp: ${passed} passed, ${failed} failed, ${skipped + known} skipped`);
    return failed > 0 ? 1 : 0;
  }
}

function print(line) {
  process.stdout.write(`${line}\n`);
}
