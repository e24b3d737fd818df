/**
 * The pinned bench's own logic, where a mistake would make its readings lie: a pool of unique tokens
 * rotated across a server's runs, and goals read through each row's chain of bases.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pinned = require('../bench/lib/pinned') as {
  wrk(url: string, script: string, duration: number, connections: number, from?: number): Promise<{ requests: number }>;
  writeScript(dir: string, tokens: readonly string[]): string;
  against(row: Row, base: Row): { added: number; ratio: number };
  chainOffsets(rows: Row[], baseOfRow: (row: Row) => Row | undefined, rounds: number): void;
};

interface Row {
  cpus: number[];
  rpss: number[];
  origin?: string;
  offsets?: { added: number; ratio: number }[];
}

const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'; // wrk --version exits 1 after printing it
  }
})();

describe('a pool of unique tokens', () => {
  let server: Server;
  let dir: string;
  const seen: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-pinned-'));
    // A millisecond per response: a one-second run sends about a thousand tokens of the pool.
    server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      setTimeout(() => res.end(), 1);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  (hasWrk ? it : it.skip)('goes on where the last run stopped, so that no run sends a token its server just saw', async () => {
    const tokens = Array.from({ length: 5_000 }, (_, i) => `t${i}`);
    const script = pinned.writeScript(dir, tokens);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    const index = (header: string | undefined) => Number(header?.replace('Bearer t', ''));
    const first = await pinned.wrk(url, script, 1, 1);
    const firstSeen = seen.splice(0);
    expect(firstSeen.length).toBeGreaterThan(100);
    expect(firstSeen.length).toBeLessThan(tokens.length / 2);
    await pinned.wrk(url, script, 1, 1, first.requests + 1);
    expect(index(seen[0])).toBeGreaterThan(index(firstSeen.at(-1)));
    expect(new Set([...firstSeen, ...seen]).size).toBe(firstSeen.length + seen.length);
  }, 20_000);
});

describe('goals read through the chain of bases', () => {
  type Step = { added: number; ratio: number };
  const row = (name: string, cpus: number[], rpss: number[], steps: Step[] = []) => ({ name, cpus, rpss, steps }) as Row & { name: string; steps: Step[] };

  it('sums the per-round steps of a row over its floor and of the floor over the root', () => {
    // Rounds in which the machine doubled every absolute figure; the steps measured at once stay put.
    const none = row('f:none', [100, 200], [1000, 500]);
    const floor = row('f:noop', [102, 203], [980, 490], [{ added: 2, ratio: 0.98 }, { added: 3, ratio: 0.98 }]);
    const guarded = row('f:scopeguard', [105, 206], [950, 470], [{ added: 3, ratio: 0.97 }, { added: 3, ratio: 0.96 }]);
    const rows = [none, floor, guarded];
    const bases = new Map([[guarded, floor], [floor, none]]);
    pinned.chainOffsets(rows, (r: Row) => bases.get(r as never), 2);
    expect(guarded.origin).toBe('f:none');
    expect(guarded.offsets).toEqual([{ added: 5, ratio: expect.closeTo(0.97 * 0.98) }, { added: 6, ratio: expect.closeTo(0.96 * 0.98) }]);
    expect(pinned.against(guarded, floor).added).toBeCloseTo(3);
    expect(pinned.against(guarded, none).added).toBeCloseTo(5.5);
    expect(pinned.against(guarded, floor).ratio).toBeCloseTo(0.965);
  });

  it('refuses bases that form a circle', () => {
    const a = row('f:a', [1], [1], [{ added: 1, ratio: 1 }]);
    const b = row('f:b', [1], [1], [{ added: 1, ratio: 1 }]);
    const bases = new Map([[a, b], [b, a]]);
    expect(() => pinned.chainOffsets([a, b], (r: Row) => bases.get(r as never), 1)).toThrow(/circle/);
  });

  it('compares rows of different families round by round, as they alternated', () => {
    const a: Row = { cpus: [10, 30, 20], rpss: [100, 100, 100], origin: 'a:none', offsets: [] };
    const b: Row = { cpus: [12, 31, 25], rpss: [50, 50, 50], origin: 'b:none', offsets: [] };
    expect(pinned.against(b, a)).toMatchObject({ added: 2, ratio: 0.5 });
  });
});
