'use strict';
/**
 * In-process CPU of the reused-token path through each adapter, for one checkout (default: this one):
 * the Express middleware plus `requireScopes`, and the Nest guard's `canActivate`, on fresh Node
 * request objects, minus the cost of making them. Medians of 9 runs of 200 000 requests.
 *   node bench/compare/in-process.js [checkout]
 * Run it for two checkouts, alternating, to compare a change on the request path.
 */
const { join, resolve } = require('node:path');
const { IncomingMessage, ServerResponse } = require('node:http');
const { Socket } = require('node:net');

const root = resolve(process.argv[2] ?? join(__dirname, '../..'));
const fromRoot = (name) => require(require.resolve(name, { paths: [root] }));
fromRoot('reflect-metadata');
const { createTestIssuer } = require(join(root, 'packages/testing/dist'));
const { scopeguard, requireScopes } = require(join(root, 'packages/express/dist'));
const nest = require(join(root, 'packages/nestjs/dist'));
const { Test } = fromRoot('@nestjs/testing');
const { ExecutionContextHost } = fromRoot('@nestjs/core/helpers/execution-context-host');

const socket = new Socket();
function request(token) {
  const message = new IncomingMessage(socket);
  message.method = 'GET';
  message.url = '/orders';
  message.headers = { host: 'api.test', authorization: `Bearer ${token}` };
  message.rawHeaders = ['Host', 'api.test', 'Authorization', `Bearer ${token}`];
  return message;
}

function measure(step) {
  const run = (n) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) step();
    return Number(process.hrtime.bigint() - started) / n;
  };
  run(100_000);
  const samples = Array.from({ length: 9 }, () => run(200_000)).sort((a, b) => a - b);
  return samples[4];
}

(async () => {
  const issuer = await createTestIssuer();
  const options = { issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: { worker: ['orders.read'] } };
  const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
  const res = new ServerResponse(request(token));
  let passed = 0;

  const middleware = scopeguard(options);
  const check = requireScopes('orders.read');
  for (let i = 0; i < 3; i++) await new Promise((done) => middleware(request(token), res, done));

  class Orders {
    list() {}
  }
  nest.RequireScopes('orders.read')(Orders.prototype, 'list', Object.getOwnPropertyDescriptor(Orders.prototype, 'list'));
  const moduleRef = await Test.createTestingModule({ imports: [nest.ScopeguardModule.forRoot(options)] }).compile();
  const guard = moduleRef.get(nest.ScopeguardGuard);
  const context = (req) => {
    const host = new ExecutionContextHost([req, res, () => undefined], Orders, Orders.prototype.list);
    host.setType('http');
    return host;
  };
  for (let i = 0; i < 3; i++) await guard.canActivate(context(request(token)));

  const base = measure(() => context(request(token)));
  const express = measure(() => {
    const req = request(token);
    context(req);
    middleware(req, res, () => check(req, res, () => passed++));
  });
  const guarded = measure(() => {
    if (guard.canActivate(context(request(token))) === true) passed++;
  });
  console.log(`${root}`);
  console.log(`  express: scopeguard() + requireScopes  ${((express - base) / 1000).toFixed(3)} µs per request`);
  console.log(`  nest: ScopeguardGuard.canActivate      ${((guarded - base) / 1000).toFixed(3)} µs per request`);
  await issuer.close();
  process.exit(passed > 0 ? 0 : 1);
})();
