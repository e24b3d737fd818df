/**
 * A plain `node:http` server guarded by node-http-adapter.ts, the adapter the core README's "Writing an
 * adapter" shows, written against `@scopeguard/core` and `@scopeguard/core/adapter` alone: the
 * conformance routes, forms parsed before the guard (as a body parser would).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsOptions } from 'node:https';
import { parse } from 'node:querystring';
import type { ScopeRequirement, ScopeguardOptions } from '@scopeguard/core';
import { close, listen } from '../../support/http';
import { FORGED_AUTH, type AppExtras, type RunningAdapter } from '../adapters';
import { nodeGuard } from './node-http-adapter';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** The form body of a POST, as a body parser gives it (at most 64 KB, else 413); `undefined` for any other. */
async function formBody(req: IncomingMessage): Promise<unknown> {
  if (req.method !== 'POST' || !FORM.test(req.headers['content-type'] ?? '')) return undefined;
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 65_536) throw Object.assign(new Error('too large'), { status: 413 });
  }
  return parse(text);
}

export async function startNodeHttp(options: ScopeguardOptions, tls: TlsOptions | undefined, extras: AppExtras): Promise<RunningAdapter> {
  const guard = nodeGuard({ logger: false, ...options }); // cases leave permissions out on purpose
  const routes: Record<string, readonly ScopeRequirement[]> = {
    'GET /read': [guard.requireScopes('orders.read')],
    'POST /read': [guard.requireScopes('orders.read')],
    'GET /any': [guard.requireAnyScope('orders.write', 'orders.admin')],
    'GET /auth': [],
  };
  const app: RequestListener = async (req, res) => {
    try {
      if (guard.servedMetadata(req, res)) return;
      const body = await formBody(req);
      if ((await guard.admit(req, res, [], body)) === undefined) return; // every route needs a token
      // Another layer overwrites the principal the routes see: the route check must not read it.
      if (extras.forgeAuth) (req as { auth?: unknown }).auth = FORGED_AUTH;
      const requirements = routes[`${req.method} ${(req.url ?? '/').split('?')[0]}`];
      if (requirements === undefined) return void res.writeHead(404).end();
      if ((await guard.admit(req, res, requirements, body)) === undefined) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    } catch (error) {
      res.writeHead((error as { status?: number }).status ?? 500).end();
    }
  };
  const server: Server = tls ? createTlsServer(tls, app) : createServer(app);
  const base = await listen(server);
  return { base: tls ? base.replace('http:', 'https:') : base, close: () => close(server) };
}
