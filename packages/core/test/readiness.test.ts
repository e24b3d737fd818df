/** Issue 16: warm start (ready), readiness per issuer (health), and last-known-good keys bounded by jwks.maxStaleMs. */
import { Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { type KeySetEvent } from '@scopeguard/core/adapter';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { codeOf } from '../../../test/support/outcome';

let issuer: TestIssuer;
beforeEach(async () => {
  issuer = await createTestIssuer();
});
afterEach(() => issuer.close());

const guard = (options: Partial<ScopeguardOptions> = {}) => new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: 'token', ...options });

describe('warm start and readiness', () => {
  it('ready() fetches every key set before traffic; health() says per issuer how old the set is', async () => {
    let now = Date.now();
    const engine = guard({ clock: () => now });
    expect(engine.health()).toMatchObject({ ready: false, issuers: [{ issuer: issuer.issuer, state: 'loading', keys: 0 }] });
    await engine.ready();
    expect(issuer.requests.jwks).toBe(1);
    now += 5000;
    const health = engine.health();
    expect(health.ready).toBe(true);
    expect(health.issuers).toEqual([{ issuer: issuer.issuer, jwksUri: issuer.jwksUri, state: 'fresh', keys: 1, fetchedAt: expect.any(Date), ageMs: 5000, lastError: undefined, lastErrorAt: undefined }]);
    // Ready already: the first request costs no fetch.
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    expect(issuer.requests.jwks).toBe(1);
  });

  it('ready() rejects, naming the issuer, when a key set cannot be fetched; health() says why', async () => {
    issuer.outage({ status: 500 });
    const engine = guard();
    await expect(engine.ready()).rejects.toThrow(/1 of 1 key sets/);
    const [entry] = engine.health().issuers;
    expect(entry).toMatchObject({ state: 'unavailable', keys: 0, lastErrorAt: expect.any(Date) });
    expect(entry!.lastError).toContain('HTTP 500');
    expect(engine.health().ready).toBe(false);
  });

  it('pinned keys are ready at once', async () => {
    const engine = new Scopeguard({ ...issuer.options(), permissions: 'token' });
    await engine.ready();
    expect(engine.health()).toMatchObject({ ready: true, issuers: [{ issuer: issuer.issuer, state: 'pinned' }] });
  });
});

describe('last-known-good keys, bounded (jwks.maxStaleMs)', () => {
  it('serves the last good set while the issuer is down, then answers 503 once it is maxStaleMs past due; reports each change', async () => {
    let now = Date.now();
    const events: KeySetEvent[] = [];
    const engine = guard({ clock: () => now, jwks: { maxAgeMs: 60_000, maxStaleMs: 3_600_000, cooldownMs: 0 }, onKeySet: (event) => void events.push(event) });
    const token = await issuer.mint({ expiresIn: 86_400 });
    expect(await codeOf(engine.verify(token))).toBe('OK');
    expect(await codeOf(engine.verify(token))).toBe('OK'); // now cached
    issuer.outage({ status: 503 });
    now += 61_000;
    // Due for a refresh, which fails: the known key still serves, and the operator hears of it once.
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    expect(events.map((event) => event.state)).toEqual(['stale']);
    expect(engine.health().issuers[0]).toMatchObject({ state: 'stale' });
    expect(engine.health().ready).toBe(true);
    // Past maxAgeMs + maxStaleMs: new tokens and cached verdicts alike get 503, never a stale pass.
    now += 3_600_000;
    expect(await codeOf(engine.verify(await issuer.mint({ expiresIn: 86_400 })))).toBe('ERR_KEYS_UNAVAILABLE');
    expect(await codeOf(engine.verify(token))).toBe('ERR_KEYS_UNAVAILABLE');
    expect(events.map((event) => event.state)).toEqual(['stale', 'expired']);
    expect(engine.health()).toMatchObject({ ready: false, issuers: [{ state: 'expired' }] });
    // The issuer is back: the next request fetches, and the operator hears of the recovery.
    issuer.recover();
    expect(await codeOf(engine.verify(token))).toBe('OK');
    expect(events.map((event) => event.state)).toEqual(['stale', 'expired', 'recovered']);
    expect(events[0]).toMatchObject({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, fetchedAt: expect.any(Date), error: expect.stringContaining('HTTP 503') });
    expect(engine.health().issuers[0]).toMatchObject({ state: 'fresh' });
  });

  it('a failing onKeySet sink changes nothing', async () => {
    let now = Date.now();
    const engine = guard({ clock: () => now, jwks: { maxAgeMs: 1000, cooldownMs: 0 }, onKeySet: () => { throw new Error('sink down'); } });
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    issuer.outage();
    now += 2000;
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await codeOf(engine.verify(await issuer.mint()))).toBe('OK');
  });

  it('validates maxStaleMs and documents its default (24 h)', () => {
    expect(() => guard({ jwks: { maxStaleMs: -1 } })).toThrow(/jwks.maxStaleMs/);
    expect(guard().options.issuers[0]!.jwks.maxStaleMs).toBe(86_400_000);
  });

  it('a readiness probe starts a fetch when the set is missing, failing or due, so an idle or once-failed instance recovers', async () => {
    let now = Date.now();
    issuer.outage({ status: 503 });
    const engine = guard({ clock: () => now, jwks: { maxAgeMs: 60_000, maxStaleMs: 600_000, cooldownMs: 1_000 } });
    await expect(engine.ready()).rejects.toThrow();
    issuer.recover();
    now += 2_000; // past the cooldown
    engine.health(); // the probe asks for a fetch…
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(engine.health()).toMatchObject({ ready: true, issuers: [{ state: 'fresh' }] }); // …and the next probe sees it
    // Idle past maxAgeMs + maxStaleMs with the issuer healthy: still ready (nothing failed), and refreshed.
    const fetched = issuer.requests.jwks;
    now += 700_000;
    expect(engine.health().ready).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(issuer.requests.jwks).toBe(fetched + 1);
  });

  it('a failing clock makes the readiness answer a 503, not a thrown error', async () => {
    const { healthAnswer } = await import('@scopeguard/core/adapter');
    let broken = false;
    const engine = guard({ clock: () => (broken ? Number.NaN : Date.now()) });
    await engine.ready();
    broken = true;
    const answer = healthAnswer(engine);
    expect(answer.status).toBe(503);
    expect(answer.body).not.toContain('at ');
  });

  it('never shows credentials of a key-set URL (userinfo, query) in health, events or errors', async () => {
    const events: string[] = [];
    const secret = `${issuer.jwksUri}?api_key=S3CRET`;
    const engine = guard({ jwksUri: secret, onKeySet: (event) => void events.push(JSON.stringify(event)) });
    issuer.outage({ status: 503 });
    const error = await engine.ready().catch((e: Error) => e);
    const shown = JSON.stringify(engine.health()) + String((error as Error).message) + events.join('');
    expect(shown).not.toContain('S3CRET');
    expect(JSON.stringify(engine.health())).toContain('?…');
  });
});

