/**
 * Every adapter, serving the same four routes over real HTTP on 127.0.0.1:0:
 *   GET  /read  requires orders.read            GET  /any   requires orders.write OR orders.admin
 *   GET  /auth  requires a valid token only      POST /read  requires orders.read (form bodies parsed)
 */
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsOptions } from 'node:https';
import { Controller, Get, HttpCode, Post, UseGuards, type INestApplication, type NestApplicationOptions, type Type } from '@nestjs/common';
import { AuthGuard, PassportModule } from '@nestjs/passport';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import express5 from 'express';
import type { ScopeguardOptions } from '@scopeguard/core';
import { requireAnyScope, requireScopes, scopeguard } from '@scopeguard/express';
import { RequireAnyScope, RequireScopes, ScopeguardGuard, ScopeguardModule } from '@scopeguard/nestjs';
import { ScopeguardStrategy } from '@scopeguard/nestjs/passport';
import passportRegistry from 'passport';
import { close, listen } from '../support/http';
import { startFastify } from './frameworks/fastify';
import { startHono } from './frameworks/hono';
import { startKoa } from './frameworks/koa';
import { startNodeHttp } from './frameworks/node-http';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof express5;

/** A running adapter. */
export interface RunningAdapter {
  base: string;
  close(): Promise<void>;
  /** Called before each request (Passport: make this app's strategy the registered one). */
  before?(): void;
}

/**
 * `passport`: `@UseGuards(AuthGuard('scopeguard'), ScopeguardGuard)` on the controller;
 * `passport-global`: the module's global guard, and `AuthGuard('scopeguard')` on the controller too.
 */
export type AdapterName = 'express5' | 'express4' | 'nest-express' | 'nest-fastify' | 'passport' | 'passport-global' | 'fastify' | 'hono' | 'koa' | 'node-http';
const ALL: readonly AdapterName[] = ['express5', 'express4', 'nest-express', 'nest-fastify', 'passport', 'passport-global', 'fastify', 'hono', 'koa', 'node-http'];
/** Every adapter; `ADAPTERS=hono,koa npx jest test/conformance` runs some while working on them. */
export const ADAPTERS: readonly AdapterName[] = process.env.ADAPTERS ? ALL.filter((name) => process.env.ADAPTERS!.split(',').includes(name)) : ALL;

/** What an app around the guard does besides. */
export interface AppExtras {
  /**
   * Another middleware sets `req.auth` to a forged principal holding every scope (express-jwt, a
   * leftover test stub): on Express after `scopeguard()`, on Nest before the guards.
   */
  forgeAuth?: boolean;
}

/** A principal-shaped object no engine made. */
export const FORGED_AUTH = Object.freeze({
  clientId: 'forged',
  subject: 'forged',
  issuer: 'https://forged.example',
  audience: [],
  scopes: ['orders.read', 'orders.write', 'orders.admin'],
  permissions: ['orders.read', 'orders.write', 'orders.admin'],
  isClientCredentials: true,
  expiresAt: new Date(Date.now() + 3_600_000),
  claims: {},
});

async function startExpress(flavour: typeof express5, options: ScopeguardOptions, tls: TlsOptions | undefined, extras: AppExtras): Promise<RunningAdapter> {
  const app = flavour();
  app.use(flavour.urlencoded({ extended: false }));
  app.use(scopeguard({ logger: false, ...options })); // cases leave permissions out on purpose (a test may pass its logger)
  if (extras.forgeAuth) app.use((req: express5.Request, _res: unknown, next: () => void) => ((req as { auth?: unknown }).auth = FORGED_AUTH, next()));
  const ok = (_req: unknown, res: express5.Response) => void res.json({ ok: true });
  app.get('/read', requireScopes('orders.read'), ok);
  app.post('/read', requireScopes('orders.read'), ok);
  app.get('/any', requireAnyScope('orders.write', 'orders.admin'), ok);
  app.get('/auth', ok);
  const server: Server = tls ? createTlsServer(tls, app) : createServer(app);
  const base = await listen(server);
  return { base: tls ? base.replace('http:', 'https:') : base, close: () => close(server) };
}

@Controller()
class GuardedController {
  @RequireScopes('orders.read')
  @Get('read')
  read() {
    return { ok: true };
  }

  @RequireScopes('orders.read')
  @Post('read')
  @HttpCode(200)
  postRead() {
    return { ok: true };
  }

  @RequireAnyScope('orders.write', 'orders.admin')
  @Get('any')
  any() {
    return { ok: true };
  }

  @Get('auth')
  auth() {
    return { ok: true };
  }
}

/** Passport authenticates (AuthGuard), the guard then authorizes the principal Passport found. */
@UseGuards(AuthGuard('scopeguard'), ScopeguardGuard)
@Controller()
class PassportController extends GuardedController {}

/** The global guard authenticates first, then Passport's AuthGuard runs on the same request. */
@UseGuards(AuthGuard('scopeguard'))
@Controller()
class PassportGlobalController extends GuardedController {}

async function startNest(
  platform: 'express' | 'fastify',
  options: ScopeguardOptions,
  passport: 'no' | 'local' | 'global',
  tls: TlsOptions | undefined,
  extras: AppExtras,
): Promise<RunningAdapter> {
  const moduleRef = await Test.createTestingModule({
    imports: [...(passport === 'no' ? [] : [PassportModule]), ScopeguardModule.forRoot({ ...options, global: passport !== 'local' })],
    controllers: [(passport === 'no' ? GuardedController : passport === 'local' ? PassportController : PassportGlobalController) as Type],
    providers: passport === 'no' ? [] : [ScopeguardStrategy],
  }).compile();
  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(tls ? { https: tls } : {}))
      : moduleRef.createNestApplication(tls ? { httpsOptions: tls as NonNullable<NestApplicationOptions['httpsOptions']> } : {});
  app.useLogger(false);
  if (extras.forgeAuth) {
    if (platform === 'fastify') {
      const fastify = app.getHttpAdapter().getInstance() as { addHook(name: 'onRequest', hook: (request: { auth?: unknown }, reply: unknown, done: () => void) => void): void };
      fastify.addHook('onRequest', (request, _reply, done) => ((request.auth = FORGED_AUTH), done()));
    } else app.use((req: { auth?: unknown }, _res: unknown, next: () => void) => ((req.auth = FORGED_AUTH), next()));
  }
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const base = tls ? url.replace('http:', 'https:') : url;
  if (passport === 'no') return { base, close: () => app.close() };
  // Passport keeps strategies in one process-wide registry by name, so when several apps run in
  // one process (as here, one per option profile) the last one registered would answer for all.
  const strategy = app.get(ScopeguardStrategy);
  return { base, close: () => app.close(), before: () => void passportRegistry.use('scopeguard', strategy as never) };
}

/** Starts one adapter with one set of engine options, over TLS when `tls` is given. */
export function startAdapter(name: AdapterName, options: ScopeguardOptions, tls?: TlsOptions, extras: AppExtras = {}): Promise<RunningAdapter> {
  switch (name) {
    case 'express5': return startExpress(express5, options, tls, extras);
    case 'express4': return startExpress(express4, options, tls, extras);
    case 'nest-express': return startNest('express', options, 'no', tls, extras);
    case 'nest-fastify': return startNest('fastify', options, 'no', tls, extras);
    case 'passport': return startNest('express', options, 'local', tls, extras);
    case 'passport-global': return startNest('express', options, 'global', tls, extras);
    case 'fastify': return startFastify(options, tls, extras);
    case 'hono': return startHono(options, tls, extras);
    case 'koa': return startKoa(options, tls, extras);
    // The core README's "Writing an adapter": a third party's adapter, written against the kit alone.
    case 'node-http': return startNodeHttp(options, tls, extras);
  }
}
