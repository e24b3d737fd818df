/** Fastify 5 with the `@scopeguard/fastify` plugin (form bodies parsed by @fastify/formbody), the conformance routes. */
import type { ServerOptions as TlsOptions } from 'node:https';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import type { ScopeguardOptions } from '@scopeguard/core';
import { scopeguard } from '@scopeguard/fastify';
import { FORGED_AUTH, type AppExtras, type RunningAdapter } from '../adapters';

export async function startFastify(options: ScopeguardOptions, tls: TlsOptions | undefined, extras: AppExtras): Promise<RunningAdapter> {
  const app = Fastify({ https: tls ?? null }); // null: plain HTTP
  await app.register(formbody);
  await app.register(scopeguard, { logger: false, ...options }); // cases leave permissions out on purpose (a test may pass its logger)
  // Another hook, after the plugin's, overwrites the principal handlers see: route checks must not read it.
  if (extras.forgeAuth) app.addHook('onRequest', async (request) => void (request.auth = FORGED_AUTH as never));
  const ok = async () => ({ ok: true });
  app.get('/read', { config: { scopeguard: { scopes: ['orders.read'] } } }, ok);
  app.post('/read', { config: { scopeguard: { scopes: ['orders.read'] } } }, ok);
  app.get('/any', { config: { scopeguard: { anyScope: ['orders.write', 'orders.admin'] } } }, ok);
  app.get('/auth', ok);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { base, close: () => app.close() };
}
