/**
 * `npm start`: the orders API (NestJS by default, `--express` for the Express app) and, unless
 * ISSUER names an external issuer, the embedded authorization server. Prints curl lines to try.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { addClientCredentialsScheme, createScopeguardDocument } from '@scopeguard/nestjs/swagger';
import { json } from 'express';
import { NestFactory } from '@nestjs/core';
import { Scopeguard, type ScopeguardOptions } from '@scopeguard/core';
import { scopeguard } from '@scopeguard/express';
import { connectRedis, redisStore, type RedisStore } from '@scopeguard/redis';
import { API_CLIENT, CLIENTS, startAuthorizationServer, type AuthorizationServer } from './authorization-server';
import { badJson } from './bad-json';
import { loadConfig } from './config';
import { createExpressApp } from './express/app';
import { AppModule } from './nest/app.module';

async function main(): Promise<void> {
  const config = loadConfig();
  const flavour = process.argv.includes('--express') ? 'express' : 'nestjs';

  let embedded: AuthorizationServer | undefined;
  // The API's origin, once it listens: its Swagger UI may call the embedded token endpoint (CORS).
  let apiOrigin: string | undefined;
  if (!config.issuer) {
    embedded = await startAuthorizationServer({
      port: config.asPort,
      audience: config.audience,
      accessTokenTtl: config.accessTokenTtl,
      opaque: config.opaqueTokens,
      corsOrigins: () => (apiOrigin === undefined ? [] : [apiOrigin]),
    });
  }
  const issuer = config.issuer ?? embedded!.issuer;

  // Several instances (REDIS_URL): what they must share lives in Redis, and each hears of every change.
  const shared: RedisStore | undefined = config.redisUrl ? redisStore({ client: connectRedis(config.redisUrl) }) : undefined;
  const guard: ScopeguardOptions = {
    issuer,
    audience: config.audience,
    ...(config.jwksUri && { jwksUri: config.jwksUri }),
    ...(config.preset && { preset: config.preset }),
    permissions: shared ? shared.permissions(config.permissions) : config.permissions,
    clockTolerance: config.clockTolerance,
    realm: 'orders-api',
    // DPoP-bound tokens (RFC 9449) as well as bearer tokens; with several instances, nonces every one accepts.
    dpop: {
      ...(config.publicBaseUrl && { publicBaseUrl: config.publicBaseUrl }),
      ...(shared && { nonce: true, nonceSecret: await shared.nonceSecret(), replayStore: shared.replayStore }),
    },
    ...(shared && { isRevoked: shared.isRevoked }),
    ...(embedded && config.opaqueTokens && {
      introspection: { endpoint: embedded.introspectionEndpoint, clientId: API_CLIENT.client_id, clientSecret: API_CLIENT.client_secret },
    }),
  };

  let server: Server;
  let close: () => Promise<void>;
  if (flavour === 'express') {
    const middleware = scopeguard({ ...guard, auditLog: true });
    await shared?.attach(middleware);
    const app = createExpressApp(middleware, shared);
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(config.port, '127.0.0.1', () => resolve(listening));
    });
    close = () => new Promise((resolve) => server.close(() => resolve()));
  } else {
    // Bodies parsed by the same middleware as the Express front door, so bad JSON is answered alike.
    const app = await NestFactory.create(AppModule.register({ ...guard, auditLog: true }, shared), { logger: new DecisionsLogger(), bodyParser: false });
    await shared?.attach(app.get(Scopeguard));
    app.use(json(), badJson);
    if (embedded) serveApiDocs(app, embedded.tokenEndpoint);
    app.enableShutdownHooks();
    await app.listen(config.port, '127.0.0.1');
    server = app.getHttpServer();
    close = () => app.close();
  }
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  apiOrigin = api;

  console.log(`orders API (${flavour}) listening on ${api}`);
  console.log(embedded ? `authorization server (oidc-provider) on ${issuer}` : `trusting external issuer ${issuer}`);
  console.log(`audience ${config.audience}; permissions from ${config.permissionsFile}`);
  if (shared) console.log('shared with other instances through Redis: DPoP proofs and nonces, revocations, inactive clients');
  if (embedded && flavour === 'nestjs') console.log(`API documentation (Swagger UI, "Authorize" gets a token): ${api}/docs`);
  if (embedded) console.log(curlLines(api, embedded.tokenEndpoint));

  const stop = async () => {
    await Promise.allSettled([close(), embedded?.close()]);
    // After the server: requests still being answered need the store (closed, it refuses with 503).
    await shared?.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * The OpenAPI document at /docs-json and Swagger UI at /docs: "Authorize" runs the client-credentials
 * flow against the embedded token endpoint, "Try it out" calls the API with the token.
 */
function serveApiDocs(app: INestApplication, tokenEndpoint: string): void {
  const builder = new DocumentBuilder()
    .setTitle('orders-api')
    .setDescription('Orders, protected by scopeguard. Authorize as orders-worker / worker-secret (Authorization header) or orders-reporter / reporter-secret (request body).')
    .setVersion('1');
  const scopes = { 'orders.read': 'read orders', 'orders.write': 'create and change orders', 'orders.admin': 'delete orders' };
  const config = addClientCredentialsScheme(builder, { tokenUrl: tokenEndpoint, scopes }).build();
  SwaggerModule.setup('docs', app, createScopeguardDocument(app, config));
}

/**
 * Nest's console logger, quiet about start-up (mapped routes, modules) but for warnings and errors, so
 * what shows is one line per decision from scopeguard's audit log (context `Scopeguard`).
 */
class DecisionsLogger extends ConsoleLogger {
  constructor() {
    super('orders-api', { logLevels: ['fatal', 'error', 'warn', 'log'], colors: process.stdout.isTTY === true });
  }

  override log(message: unknown, context?: string): void {
    if (context === 'Scopeguard') super.log(message, context);
  }
}

/**
 * Lines to paste into a shell (bash or zsh). They can be pasted again: the order they change is the
 * one they created (its id taken from the answer), and a failed token request stops the line that
 * would use its token (`${TOKEN:?…}`) instead of sending the error text as one.
 */
export function curlLines(api: string, tokenEndpoint: string): string {
  const [worker, reporter, admin] = CLIENTS as [typeof CLIENTS[0], typeof CLIENTS[0], typeof CLIENTS[0]];
  const token = `| sed -nE 's/.*"access_token":"([^"]+)".*/\\1/p'`;
  const id = `| sed -nE 's/.*"id":"([^"]+)".*/\\1/p'`;
  const bearer = '"Authorization: Bearer ${TOKEN:?the token request failed}"';
  return `
Try it (copy and paste):

  # 1. orders-worker (HTTP Basic) gets a token, creates an order and lists orders
  TOKEN=$(curl -s -X POST ${tokenEndpoint} -u ${worker.client_id}:${worker.client_secret} -d grant_type=client_credentials -d scope="orders.read orders.write" ${token})
  ORDER=$(curl -s -X POST ${api}/orders -H ${bearer} -H 'Content-Type: application/json' -d '{"item":"widget","quantity":3}' ${id}); echo "created order \${ORDER:?the order was not created}"
  curl -i -w '\\n' ${api}/orders -H ${bearer}

  # 2. orders-reporter (HTTP Basic too) may request orders.write, but does not hold it: 403
  TOKEN=$(curl -s -X POST ${tokenEndpoint} -u ${reporter.client_id}:${reporter.client_secret} -d grant_type=client_credentials -d scope="orders.read orders.write" ${token})
  curl -i -w '\\n' ${api}/orders -H ${bearer}
  curl -i -w '\\n' -X PATCH ${api}/orders/$ORDER -H ${bearer} -H 'Content-Type: application/json' -d '{"status":"shipped"}'

  # 3. orders-admin may delete
  TOKEN=$(curl -s -X POST ${tokenEndpoint} -d grant_type=client_credentials -d client_id=${admin.client_id} -d client_secret=${admin.client_secret} -d scope="orders.read orders.admin" ${token})
  curl -i -w '\\n' -X DELETE ${api}/orders/$ORDER -H ${bearer}

  # 4. no token, a bad token, and the public health check
  curl -i -w '\\n' ${api}/orders
  curl -i -w '\\n' ${api}/orders -H "Authorization: Bearer not.a.token"
  curl -i -w '\\n' ${api}/health

  # 5. the worker client (caches its token), from the repository root: PORT=${new URL(api).port} AS_PORT=${new URL(tokenEndpoint).port} npm run worker
`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
