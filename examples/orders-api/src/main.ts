/**
 * `npm start`: the orders API (NestJS by default, `--express` for the Express app) and, unless
 * ISSUER names an external issuer, the embedded authorization server. Prints curl lines to try.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { ScopeguardOptions } from '@scopeguard/core';
import { API_CLIENT, CLIENTS, startAuthorizationServer, type AuthorizationServer } from './authorization-server';
import { loadConfig } from './config';
import { createExpressApp } from './express/app';
import { AppModule } from './nest/app.module';

async function main(): Promise<void> {
  const config = loadConfig();
  const flavour = process.argv.includes('--express') ? 'express' : 'nestjs';

  let embedded: AuthorizationServer | undefined;
  if (!config.issuer) {
    embedded = await startAuthorizationServer({ port: config.asPort, audience: config.audience, accessTokenTtl: config.accessTokenTtl, opaque: config.opaqueTokens });
  }
  const issuer = config.issuer ?? embedded!.issuer;

  const guard: ScopeguardOptions = {
    issuer,
    audience: config.audience,
    ...(config.jwksUri && { jwksUri: config.jwksUri }),
    ...(config.preset && { preset: config.preset }),
    permissions: config.permissions,
    clockTolerance: config.clockTolerance,
    realm: 'orders-api',
    // DPoP-bound tokens (RFC 9449) as well as bearer tokens.
    dpop: {},
    ...(embedded && config.opaqueTokens && {
      introspection: { endpoint: embedded.introspectionEndpoint, clientId: API_CLIENT.client_id, clientSecret: API_CLIENT.client_secret },
    }),
  };

  let server: Server;
  let close: () => Promise<void>;
  if (flavour === 'express') {
    const app = createExpressApp(guard);
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(config.port, '127.0.0.1', () => resolve(listening));
    });
    close = () => new Promise((resolve) => server.close(() => resolve()));
  } else {
    const app = await NestFactory.create(AppModule.register(guard), { logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    await app.listen(config.port, '127.0.0.1');
    server = app.getHttpServer();
    close = () => app.close();
  }
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  console.log(`orders API (${flavour}) listening on ${api}`);
  console.log(embedded ? `authorization server (oidc-provider) on ${issuer}` : `trusting external issuer ${issuer}`);
  console.log(`audience ${config.audience}; permissions from ${config.permissionsFile}`);
  if (embedded) printCurlLines(api, embedded.tokenEndpoint);

  const stop = async () => {
    await Promise.allSettled([close(), embedded?.close()]);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function printCurlLines(api: string, tokenEndpoint: string): void {
  const [worker, reporter, admin] = CLIENTS as [typeof CLIENTS[0], typeof CLIENTS[0], typeof CLIENTS[0]];
  const jq = `| sed -E 's/.*"access_token":"([^"]+)".*/\\1/'`;
  console.log(`
Try it (copy and paste):

  # 1. orders-worker (HTTP Basic) gets a token and creates and lists orders
  TOKEN=$(curl -s -X POST ${tokenEndpoint} -u ${worker.client_id}:${worker.client_secret} -d grant_type=client_credentials -d scope="orders.read orders.write" ${jq})
  curl -i -X POST ${api}/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"item":"widget","quantity":3}'
  curl -i ${api}/orders -H "Authorization: Bearer $TOKEN"

  # 2. orders-reporter (form post) may request orders.write, but does not hold it: 403
  TOKEN=$(curl -s -X POST ${tokenEndpoint} -d grant_type=client_credentials -d client_id=${reporter.client_id} -d client_secret=${reporter.client_secret} -d scope="orders.read orders.write" ${jq})
  curl -i ${api}/orders -H "Authorization: Bearer $TOKEN"
  curl -i -X PATCH ${api}/orders/1 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"status":"shipped"}'

  # 3. orders-admin may delete
  TOKEN=$(curl -s -X POST ${tokenEndpoint} -d grant_type=client_credentials -d client_id=${admin.client_id} -d client_secret=${admin.client_secret} -d scope="orders.read orders.admin" ${jq})
  curl -i -X DELETE ${api}/orders/1 -H "Authorization: Bearer $TOKEN"

  # 4. no token, a bad token, and the public health check
  curl -i ${api}/orders
  curl -i ${api}/orders -H "Authorization: Bearer not.a.token"
  curl -i ${api}/health

  # 5. the worker client (caches its token), from the repository root: npm run worker
`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
