'use strict';
/**
 * One kind of request, many times, for bench/compare/instructions.js to count under callgrind:
 *   node instructions-run.js <checkout> <tokens.json> <kind> <count>
 * Kinds: `none` (making the fake Node request only), `bare` (a bare crypto.verify of the token),
 * `unique` (scopeguard()'s middleware and requireScopes on a new token each time), `reused` (the same
 * token each time, served by the verdict cache). Every run first does the same warm-up.
 */
const { join } = require('node:path');
const { readFileSync } = require('node:fs');
const { IncomingMessage, ServerResponse } = require('node:http');
const { Socket } = require('node:net');
const { createPublicKey, verify } = require('node:crypto');

const [root, file, kind, countText] = process.argv.slice(2);
const count = Number(countText);
const WARM = 2000;
const { issuer, audience, jwks, alg, tokens } = JSON.parse(readFileSync(file, 'utf8'));
const { scopeguard, requireScopes } = require(join(root, 'packages/express/dist'));

// Flat strings, as Node's HTTP parser makes them (a template literal would be a rope to flatten).
const headers = tokens.map((token) => Buffer.from(`Bearer ${token}`, 'latin1').toString('latin1'));
const socket = new Socket();
function request(authorization) {
  const message = new IncomingMessage(socket);
  message.method = 'GET';
  message.url = '/orders';
  message.headers = { host: 'api.test', authorization };
  message.rawHeaders = ['Host', 'api.test', 'Authorization', authorization];
  return message;
}

const material = createPublicKey({ key: jwks.keys[0], format: 'jwk' });
const key = alg.startsWith('ES') ? { key: material, dsaEncoding: 'ieee-p1363' } : material;
const bare = (authorization) => {
  const token = authorization.slice(7);
  const dot = token.lastIndexOf('.');
  return verify('sha256', Buffer.from(token.slice(0, dot)), key, Buffer.from(token.slice(dot + 1), 'base64url'));
};
const middleware = scopeguard({ issuer, audience, keys: jwks, algorithms: [alg], permissions: 'token' });
const check = requireScopes('orders.read');
const res = new ServerResponse(request(headers[0]));
let passed = 0;
const guarded = (authorization) => {
  const req = request(authorization);
  middleware(req, res, (error) => {
    if (error) throw error;
    check(req, res, (failure) => {
      if (failure) throw failure;
      passed++;
    });
  });
};
const one = {
  none: (authorization) => (request(authorization), passed++),
  bare: (authorization) => bare(request(authorization).headers.authorization) && passed++,
  unique: guarded,
  reused: () => guarded(headers[0]),
}[kind];
if (one === undefined) throw new Error(`unknown kind ${kind}`);
if (WARM + count > headers.length) throw new Error(`${file} holds ${headers.length} tokens, ${WARM + count} needed`);
for (let i = 0; i < WARM + count; i++) one(headers[i]);
if (passed !== WARM + count) throw new Error(`${kind}: ${WARM + count - passed} requests were not admitted`);
