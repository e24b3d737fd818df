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
const { QUICK, load, startContender, table, ratio, fixed, median } = require('../lib/harness');

const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const PER_RUN = Number(process.env.BENCH_UNIQUE_TOKENS || (QUICK ? 200 : 4000));

async function mintMany(issuer, alg, count) {
  const tokens = [];
  for (let i = 0; i < count; i++) tokens.push(await issuer.mint({ alg, clientId: `client-${i % 50}`, scope: 'orders.read' }));
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
    const names = ['express:scopeguard', ...(alg === 'RS256' ? ['express:auth0'] : []), 'express:passport'];
    const contenders = [];
    try {
      for (const name of names) contenders.push(await startContender(name, issuer));
      // Each contender gets its own fresh tokens, so nobody sees a token twice.
      const results = [];
      for (const c of contenders) {
        const tokens = await mintMany(issuer, alg, PER_RUN);
        let next = 0;
        const r = await load(`${c.url}/orders`, {
          amount: tokens.length,
          duration: undefined,
          requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }) }],
        });
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
    const engine = new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, algorithms: ALGORITHMS, tokenCache: false });
    const tokens = await mintMany(issuer, alg, Math.min(PER_RUN, 2000));
    const raw = rawVerifier(jwk);
    await engine.verify(tokens[0]);
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      const ours = await perTokenNanos(tokens, (token) => engine.verify(token));
      const bare = await perTokenNanos(tokens, (token) => {
        if (!raw(token)) throw new Error('raw verification failed');
      });
      rounds.push({ ours, bare });
    }
    const ours = median(rounds.map((r) => r.ours));
    const bare = median(rounds.map((r) => r.bare));
    cryptoRows.push([alg, fixed(ours / 1000, 1), fixed(bare / 1000, 1), ratio(ours, bare)]);
    targets.push({ name: `unique/${alg}: verification ≤ 1.3 × crypto.verify`, value: ours / bare, max: 1.3 });
  }
  return {
    text: [
      table('3a. Unique tokens over HTTP, Express 5 (req/s; latency ms)', ['alg', 'contender', 'req/s', 'p50', 'p99', '× auth0', 'failed'], httpRows),
      table('3b. Verification per token, in process (µs; cache off)', ['alg', 'scopeguard', 'crypto.verify', 'ratio'], cryptoRows),
    ].join('\n'),
    targets,
    failed,
  };
};
