/** The suite guards itself: a run with an unhandled promise rejection fails; a passing test is quiet. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

it('a test file that drops a rejected promise fails the run', () => {
  const root = join(__dirname, '..');
  const result = spawnSync(
    process.execPath,
    [require.resolve('jest/bin/jest'), '--rootDir', root, '--testMatch', '**/test/support/fixtures/drops-a-promise.fixture.ts', '--ci', '--colors=false'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 60_000 },
  );
  expect(result.status).not.toBe(0);
  expect(`${result.stdout}${result.stderr}`).toMatch(/dropped on purpose/);
}, 60_000);

it('a passing test prints nothing of its console; a failing one shows what it logged', () => {
  const root = join(__dirname, '..');
  const result = spawnSync(
    process.execPath,
    [require.resolve('jest/bin/jest'), '--rootDir', root, '--testMatch', '**/test/support/fixtures/console.fixture.ts', '--ci', '--colors=false'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', JEST_CONSOLE: '' }, timeout: 60_000 },
  );
  const output = `${result.stdout}${result.stderr}`;
  expect(result.status).not.toBe(0);
  expect(output).toContain('from the failing test');
  expect(output).not.toContain('from the passing test');
}, 60_000);
