/**
 * Property-based tests (fast-check). Bounded for `npm test`; set FUZZ_RUNS for a longer run, e.g.
 * `FUZZ_RUNS=100000 npx jest test/fuzz`.
 *  - random and mutated Authorization headers never authenticate, never give a 5xx, never throw
 *    anything but a ScopeguardError, and settle within a bound;
 *  - a valid token with any single character changed, or any byte of its header, payload or
 *    signature changed, is always refused.
 */
import fc from 'fast-check';
import express from 'express';
import { createServer, type Server } from 'node:http';
import { Scopeguard, ScopeguardError } from '@scopeguard/core';
import { scopeguard } from '@scopeguard/express';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { close, listen, send } from '../support/http';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const HTTP_RUNS = Math.max(100, Math.floor(RUNS / 10));
const BOUND_MS = 2000;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let issuer: TestIssuer;
let engine: Scopeguard;
let valid: string;
let server: Server;
let base: string;

beforeAll(async () => {
  issuer = await createTestIssuer({ algorithms: ['RS256', 'ES256'] });
  const options = { issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, algorithms: ['RS256', 'ES256'] as const, jwks: { cooldownMs: 60_000 } };
  engine = new Scopeguard({ ...options, algorithms: [...options.algorithms] });
  valid = await issuer.mint({ clientId: 'fuzz', scope: 'a' });
  await engine.verify(valid); // warm the key set
  const app = express();
  app.use(scopeguard({ ...options, algorithms: [...options.algorithms], logger: false }));
  app.get('/', (_req, res) => void res.json({ ok: true }));
  server = createServer(app);
  base = await listen(server);
});
afterAll(async () => {
  await close(server);
  await issuer.close();
});

/** Settles the engine's verdict within the bound: 'accepted', or the refusal's status. */
async function verdict(authorization: string | undefined): Promise<'accepted' | number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no verdict within ${BOUND_MS} ms`)), BOUND_MS);
  });
  try {
    await Promise.race([engine.admit({ authorization }), timeout]);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof ScopeguardError)) throw error;
    return error.status;
  } finally {
    clearTimeout(timer);
  }
}

const headerValues = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
  fc.string({ unit: 'binary-ascii', maxLength: 300 }).map((s) => `Bearer ${s}`),
  fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/), { minLength: 1, maxLength: 6 }).map((parts) => `Bearer ${parts.join('.')}`),
  fc.tuple(fc.constantFrom('bearer', 'BEARER', 'Basic', 'DPoP', ''), fc.string({ maxLength: 100 })).map(([scheme, rest]) => `${scheme} ${rest}`),
);

describe('fuzzing', () => {
  it('random headers never authenticate and are refused with 400 or 401, within the bound', async () => {
    await fc.assert(
      fc.asyncProperty(headerValues, async (authorization) => {
        const result = await verdict(authorization);
        expect(result === 400 || result === 401).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid token with any one character changed is refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(valid.length - 1), fc.constantFrom(...B64URL, '.'), async (index, replacement) => {
        fc.pre(valid[index] !== replacement);
        const mutated = `${valid.slice(0, index)}${replacement}${valid.slice(index + 1)}`;
        const result = await verdict(`Bearer ${mutated}`);
        expect(result === 400 || result === 401).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid token with any byte of its header, payload or signature changed is refused', async () => {
    const parts = valid.split('.').map((part) => Buffer.from(part, 'base64url'));
    await fc.assert(
      fc.asyncProperty(fc.nat(2), fc.nat(), fc.integer({ min: 1, max: 255 }), async (part, position, delta) => {
        const bytes = Buffer.from(parts[part]!);
        const at = position % bytes.length;
        bytes[at] = (bytes[at]! + delta) % 256;
        const mutated = parts.map((original, i) => (i === part ? bytes : original).toString('base64url')).join('.');
        expect(await verdict(`Bearer ${mutated}`)).toBe(401);
      }),
      { numRuns: RUNS },
    );
  });

  it('the valid token itself is still accepted (the properties are not vacuous)', async () => {
    expect(await verdict(`Bearer ${valid}`)).toBe('accepted');
  });

  it('over HTTP: random headers never give 2xx or 5xx and always a JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(headerValues.filter((value) => /^[\x20-\x7e]*$/.test(value) && value.trim() === value), async (authorization) => {
        const res = await send(`${base}/`, { headers: authorization ? { authorization } : {} });
        expect([400, 401]).toContain(res.status);
        expect(typeof res.body.error_description).toBe('string');
        // An OAuth code exactly when the challenge has one (none for a request without credentials, RFC 6750 §3.1).
        const challenge = String(res.headers['www-authenticate']);
        expect(challenge).toMatch(/^Bearer realm="/);
        if (challenge.includes('error="')) expect(challenge).toContain(`error="${res.body.error}"`);
        else expect(res.body).not.toHaveProperty('error');
      }),
      { numRuns: HTTP_RUNS },
    );
  });
});
