'use strict';
/**
 * 3. Unique tokens: every request carries a token never seen before, so caches cannot help.
 * Over HTTP: scopeguard vs express-oauth2-jwt-bearer (RS256 only: it takes one algorithm) vs
 * passport-jwt + jwks-rsa. In process: scopeguard's verification of each token against a bare
 * `crypto.verify` of the same signature, the physical limit.
 * Targets: scopeguard ≥ express-oauth2-jwt-bearer; verification ≤ 1.3 × crypto.verify per token.
 */
const { createPublicKey, verify: cryptoVerify, constants } = require('node:crypto');
const { Scopeguard } = require('@scopeguard/core');
const { RemoteKeySet, verifyAccessToken } = require('@scopeguard/core/adapter');
const { QUICK, load, startContender, table, ratio, fixed, median } = require('../lib/harness');

const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
// Tokens per algorithm: more than any contender can verify in one run, so none sees a token twice.
const POOL = Number(process.env.BENCH_UNIQUE_TOKENS || (QUICK ? 500 : 24000));
const WARMUP = QUICK ? 50 : 1000;
const RUN_SECONDS = 2;

async function mintMany(issuer, alg, count) {
  const tokens = [];
  // In parallel batches: WebCrypto signs on the thread pool.
  for (let i = 0; i < count; i += 256) {
    const batch = Array.from({ length: Math.min(256, count - i) }, (_, j) => issuer.mint({ alg, clientId: `client-${(i + j) % 50}`, scope: 'orders.read' }));
    tokens.push(...(await Promise.all(batch)));
  }
  return tokens;
}

/** The same signature check scopeguard must do, with nothing else: node:crypto directly. */
function rawVerifier(jwk) {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const params = {
    RS256: ['sha256', { key }],
    PS256: ['sha256', { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
    ES256: ['sha256', { key, dsaEncoding: 'ieee-p1363' }],
    EdDSA: [null, { key }],
  }[jwk.alg];
  return (token) => {
    const dot = token.lastIndexOf('.');
    return cryptoVerify(params[0], Buffer.from(token.slice(0, dot)), params[1], Buffer.from(token.slice(dot + 1), 'base64url'));
  };
}

async function perTokenNanos(tokens, fn) {
  const start = process.hrtime.bigint();
  for (const token of tokens) await fn(token);
  return Number(process.hrtime.bigint() - start) / tokens.length;
}

module.exports = async function uniqueTokens(issuer) {
  const httpRows = [];
  const cryptoRows = [];
  const targets = [];
  let failed = false;
  for (const alg of ALGORITHMS) {
    // express-oauth2-jwt-bearer takes one algorithm (RS256 here); jsonwebtoken (passport-jwt) has no EdDSA.
    const names = ['express:scopeguard', ...(alg === 'RS256' ? ['express:auth0'] : []), ...(alg === 'EdDSA' ? [] : ['express:passport'])];
    const contenders = [];
    try {
      for (const name of names) contenders.push(await startContender(name, issuer));
      // One pool per algorithm; each contender (with its own cache) walks it once from the start.
      const pool = await mintMany(issuer, alg, POOL);
      const results = [];
      for (const c of contenders) {
        // Warm up (JIT, key import) on tokens of its own, never seen again.
        const warm = await mintMany(issuer, alg, WARMUP);
        let w = 0;
        await load(`${c.url}/orders`, { amount: warm.length, requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${warm[w++]}` } }) }] });
        let next = 0;
        const r = await load(`${c.url}/orders`, {
          // Quick mode checks the script only: a fixed amount, whatever the speed.
          ...(QUICK ? { amount: pool.length } : { duration: RUN_SECONDS }),
          requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${pool[next++] ?? 'exhausted'}` } }) }],
        });
        if (next > pool.length) throw new Error(`unique-tokens: the ${alg} pool of ${POOL} ran out for ${c.name}; raise BENCH_UNIQUE_TOKENS`);
        results.push({ name: c.name, ...r });
        failed ||= r.non2xx + r.errors > 0;
      }
      const auth0 = results.find((r) => r.name === 'express:auth0');
      const scopeguard = results.find((r) => r.name === 'express:scopeguard');
      for (const r of results) httpRows.push([alg, r.name, fixed(r.rps), r.p50, r.p99, auth0 ? ratio(r.rps, auth0.rps) : '-', r.non2xx + r.errors]);
      if (auth0) targets.push({ name: `unique/${alg}: scopeguard ≥ express-oauth2-jwt-bearer`, value: scopeguard.rps / auth0.rps, min: 1 });
    } finally {
      await Promise.all(contenders.map((c) => c.stop()));
    }

    // In process: verification cost per token, cache off, against crypto.verify of the same tokens.
    const jwk = issuer.jwks().keys.find((key) => key.alg === alg);
    const engine = new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, algorithms: ALGORITHMS, tokenCache: false, permissions: 'token' });
    // The verification step alone, with the same rules and a key set of its own (loaded before timing).
    const rules = engine.options.issuers[0];
    const keys = new RemoteKeySet(async () => issuer.jwksUri, rules.jwks);
    await keys.refresh();
    const tokens = await mintMany(issuer, alg, Math.min(POOL, 2000));
    const raw = rawVerifier(jwk);
    await engine.verify(tokens[0]);
    const rounds = [];
    const verifyStep = (token) => verifyAccessToken(token, rules, keys);
    // Warm every variant on the whole set first, so no one pays for JIT compilation in the timing.
    for (const token of tokens) {
      await verifyStep(token);
      await engine.verify(token);
      raw(token);
    }
    for (let round = 0; round < 5; round++) {
      const step = await perTokenNanos(tokens, verifyStep);
      const whole = await perTokenNanos(tokens, (token) => engine.verify(token));
      const bare = await perTokenNanos(tokens, (token) => {
        if (!raw(token)) throw new Error('raw verification failed');
      });
      rounds.push({ step, whole, bare });
    }
    const step = median(rounds.map((r) => r.step));
    const whole = median(rounds.map((r) => r.whole));
    const bare = median(rounds.map((r) => r.bare));
    cryptoRows.push([alg, fixed(bare / 1000, 1), fixed(step / 1000, 1), ratio(step, bare), fixed(whole / 1000, 1), ratio(whole, bare)]);
    targets.push({ name: `unique/${alg}: verification step ≤ 1.3 × crypto.verify`, value: step / bare, max: 1.3 });
  }
  return {
    text: [
      table('3a. Unique tokens over HTTP, Express 5 (req/s; latency ms)', ['alg', 'contender', 'req/s', 'p50', 'p99', '× auth0', 'failed'], httpRows),
      table('3b. Per token, in process (µs; cache off): crypto.verify alone, the verification step (verifyAccessToken), the whole engine.verify (+ principal, intersection)', ['alg', 'crypto.verify', 'verification', '× crypto', 'engine.verify', '× crypto'], cryptoRows),
    ].join('\n'),
    targets,
    failed,
  };
};
