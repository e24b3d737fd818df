/**
 * Keeps the benchmark scripts from rotting: runs them in quick mode (tiny runs, no timing claims)
 * and checks that they finish and print their tables. Benchmarks themselves never run in npm test.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

it('bench scenarios run end to end in quick mode', async () => {
  const { stdout } = await run(process.execPath, [join(__dirname, '..', 'bench', 'run.js')], {
    env: { ...process.env, BENCH_QUICK: '1', BENCH_ONLY: 'pinned,reused-express,unique-tokens,hostile,memory' },
    timeout: 240_000,
  });
  for (const heading of ['1. Reused token, Express 5', '3a. Unique tokens', '3b. Per token', '4. Hostile traffic', '5. Memory', 'Targets']) {
    expect(stdout).toContain(heading);
  }
  expect(stdout).toMatch(/hostile\/random kid: no request accepted: 0\.00/);
  // The pinned-cores scenario needs Debian's wrk (.ci/run installs it); without it, it says it skipped.
  const pinned = ['0a. Reused token (RS256), CPU per request', '0b. Unique tokens (a new RS256 token', '0b. Unique tokens (a new ES256 token'];
  if (stdout.includes('0. Pinned cores: skipped')) expect(stdout).toContain('wrk is missing');
  else for (const heading of pinned) expect(stdout).toContain(heading);
}, 270_000);
