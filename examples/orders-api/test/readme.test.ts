/**
 * The root README's quick start shows what `npm start` prints and what the curl session answers:
 * both are compared with the example itself (started as `npm start` starts it, on free ports), so the
 * README cannot drift from it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { send } from '../../../test/support/http';

const ROOT = join(__dirname, '../../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The ```text block that follows `marker` in the README. */
function textBlockAfter(marker: string): string[] {
  const at = README.indexOf(marker);
  if (at < 0) throw new Error(`README.md: no "${marker}"`);
  const block = /```text\n([\s\S]*?)```/.exec(README.slice(at));
  if (!block) throw new Error(`README.md: no text block after "${marker}"`);
  return block[1]!.trimEnd().split('\n');
}

let printed: string[] = [];
let api = '';
let as = '';
let stop: () => void = () => undefined;

beforeAll(async () => {
  const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'main.js')], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  stop = () => void child.kill();
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      // The last line of the curl lines: everything is printed.
      if (/# 5\. the worker client/.test(line)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`example exited with ${code}:\n${lines.join('\n')}`)));
  });
  api = /listening on (\S+)/.exec(lines.join('\n'))![1]!;
  as = /authorization server \(oidc-provider\) on (\S+)/.exec(lines.join('\n'))![1]!;
  // As the README shows it: the default ports, and the permissions file from the repository's root.
  printed = lines.map((line) =>
    line
      .replaceAll(api, 'http://127.0.0.1:3000')
      .replaceAll(as, 'http://127.0.0.1:3001')
      .replace(/PORT=\d+ AS_PORT=\d+/, 'PORT=3000 AS_PORT=3001')
      .replace(/permissions from \S*\/examples\/orders-api\/permissions\.json/, 'permissions from …/examples/orders-api/permissions.json'),
  );
}, 60_000);
afterAll(() => stop());

describe('the root README quick start', () => {
  it('shows what npm start prints: each line as printed and in order (a line of "…" stands for lines left out)', () => {
    const shown = textBlockAfter('then prints ready-to-paste');
    let next = 0;
    const missing: string[] = [];
    for (const line of shown) {
      if (line.trim() === '…') continue;
      const found = printed.indexOf(line, next);
      if (found < 0) missing.push(line);
      else next = found + 1;
    }
    expect({ missing, printed }).toEqual({ missing: [], printed });
  });

  it('shows the challenges the API answers for no token and for Bearer not.a.token', async () => {
    const shown = textBlockAfter('What the curl session answers');
    const challengeOf = (label: string) => /WWW-Authenticate: (.*)$/.exec(shown.find((line) => line.startsWith(label)) ?? '')?.[1];
    const none = await send(`${api}/orders`);
    const bad = await send(`${api}/orders`, { headers: { authorization: 'Bearer not.a.token' } });
    expect({ none: challengeOf('GET /orders (no token)'), bad: challengeOf('GET /orders (Bearer not.a.token)') }).toEqual({
      none: none.headers['www-authenticate'],
      bad: bad.headers['www-authenticate'],
    });
  });
});
