'use strict';
/**
 * 4. Hostile traffic at full rate against the Express app: tokens signed by an attacker with
 * random `kid`s, and garbage. Reports refusals per second, JWKS fetches (backing off to ≤ 1 per
 * cooldown) and the server's memory before and after.
 */
const { generateKeyPairSync, sign } = require('node:crypto');
const { load, startContender, table, fixed, DURATION } = require('../lib/harness');

module.exports = async function hostile(issuer) {
  const server = await startContender('express:scopeguard', issuer);
  try {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const payload = b64({ iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 600, client_id: 'x' });
    // One real signature; each request gets a random kid in the header (so the signature never verifies).
    const signature = sign('sha256', Buffer.from(`${b64({ alg: 'RS256', kid: 'seed' })}.${payload}`), attacker).toString('base64url');
    const randomKid = () => `${b64({ alg: 'RS256', typ: 'at+jwt', kid: Math.random().toString(36).slice(2) })}.${payload}.${signature}`;
    const garbage = () => Math.random().toString(36).repeat(1 + Math.floor(Math.random() * 20));
    const legit = await issuer.mint({ clientId: 'orders-worker', scope: 'orders.read' });
    await load(`${server.url}/orders`, { headers: { authorization: `Bearer ${legit}` }, duration: 1 }); // warm: keys fetched once

    const rows = [];
    const targets = [];
    const before = await server.stats();
    for (const [label, make] of [['random kid', randomKid], ['garbage', garbage]]) {
      const jwksBefore = issuer.requests.jwks;
      const r = await load(`${server.url}/orders`, {
        duration: DURATION,
        requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${make()}` } }) }],
      });
      const fetches = issuer.requests.jwks - jwksBefore;
      const okResponses = r.total - r.non2xx;
      rows.push([label, fixed(r.rps), r.p50, r.p99, fetches, okResponses, r.errors]);
      // Unknown-kid refetches back off: one at once, then after 1, 2, 4, 8, 16 s, then one per 30 s cooldown.
      let allowed = 1;
      for (let at = 0, interval = 1; (at += interval) <= DURATION; interval = Math.min(interval * 2, 30)) allowed++;
      targets.push({ name: `hostile/${label}: JWKS fetches ≤ ${allowed} (refetches back off from 1 s to the 30 s cooldown)`, value: fetches, max: allowed });
      targets.push({ name: `hostile/${label}: no request accepted`, value: okResponses, max: 0 });
    }
    const after = await server.stats();
    const mb = (bytes) => fixed(bytes / 1024 / 1024, 1);
    return {
      text: [
        table('4. Hostile traffic, Express 5 + scopeguard (refusals/s; latency ms)', ['traffic', 'refusals/s', 'p50', 'p99', 'JWKS fetches', 'accepted', 'errors'], rows),
        `   server heap used: ${mb(before.memory.heapUsed)} MB before, ${mb(after.memory.heapUsed)} MB after; rss ${mb(before.memory.rss)} → ${mb(after.memory.rss)} MB`,
      ].join('\n'),
      targets,
      failed: rows.some((row) => row[6] > 0),
    };
  } finally {
    await server.stop();
  }
};
