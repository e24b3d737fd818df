'use strict';
/**
 * Contender servers, one per child process (`node bench/lib/servers.js <name>`), so the load
 * generator never shares their event loop. Each serves GET /orders (needs orders.read) and
 * GET /__stats (memory, JWKS fetches) and prints its port as JSON on stdout.
 * Environment: ISSUER, AUDIENCE, JWKS_URI, CLUSTER (workers, default 1), ALG (the algorithm of the
 * `verify` floors' key, default RS256).
 */
require('reflect-metadata');
const cluster = require('node:cluster');
const { ISSUER: issuer, AUDIENCE: audience, JWKS_URI: jwksUri } = process.env;
const algorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const ORDERS = [{ id: '1', item: 'widget', quantity: 3 }];

/**
 * The floor for unique tokens: a bare `crypto.verify` of the token's signature with the issuer's key,
 * nothing else (no header, no claims). `pool`: on libuv's thread pool (the callback form) instead.
 */
function bareVerifier(pool = false) {
  const { createPublicKey, verify } = require('node:crypto');
  const alg = process.env.ALG || 'RS256';
  let key;
  fetch(jwksUri)
    .then((r) => r.json())
    .then((jwks) => {
      const material = createPublicKey({ key: jwks.keys.find((k) => k.alg === alg), format: 'jwk' });
      key = alg.startsWith('ES') ? { key: material, dsaEncoding: 'ieee-p1363' } : material;
    });
  const parts = (authorization) => {
    const token = (authorization ?? '').slice(7);
    const dot = token.lastIndexOf('.');
    return [Buffer.from(token.slice(0, dot)), Buffer.from(token.slice(dot + 1), 'base64url')];
  };
  if (pool) {
    return (authorization) =>
      new Promise((done) => {
        if (!key) return done(false);
        const [input, signature] = parts(authorization);
        verify('sha256', input, key, signature, (error, valid) => done(!error && valid));
      });
  }
  return (authorization) => {
    if (key === undefined) return false;
    const [input, signature] = parts(authorization);
    return verify('sha256', input, key, signature);
  };
}

function stats(engine) {
  return { memory: process.memoryUsage(), cpu: process.cpuUsage(), ...(engine && engine.stats()) };
}

// ── Express 5 ────────────────────────────────────────────────────────────────────────────────
function expressApp(kind) {
  const express = require('express');
  const app = express();
  let engine;
  app.get('/__stats', (_req, res) => res.json(stats(engine)));
  const ok = (_req, res) => res.json(ORDERS);
  if (kind === 'none') {
    app.get('/orders', ok);
  } else if (kind === 'noop2') {
    // The shape of app.use(guard) + requireScopes(...) with nothing inside: Express's own cost.
    app.use((_req, _res, next) => next());
    app.get('/orders', (_req, _res, next) => next(), ok);
  } else if (kind === 'props2') {
    // The same two layers, each setting a property on req (as an auth layer must hand over its caller).
    app.use((req, _res, next) => ((req.authProbe = 1), next()));
    app.get('/orders', (req, _res, next) => ((req.scopeProbe = 1), next()), ok);
  } else if (kind === 'locals2') {
    // The same, setting them on res.locals (a fresh object Express makes per request) instead of req.
    const probe = Symbol('probe');
    app.use((_req, res, next) => ((res.locals[probe] = 1), next()));
    app.get('/orders', (_req, res, next) => ((res.locals.scope = 1), next()), ok);
  } else if (kind === 'verify') {
    const verified = bareVerifier();
    app.get('/orders', (req, res, next) => (verified(req.headers.authorization) ? next() : res.status(401).end()), ok);
  } else if (kind === 'verify-pool') {
    const verified = bareVerifier(true);
    app.get('/orders', (req, res, next) => verified(req.headers.authorization).then((valid) => (valid ? next() : res.status(401).end())), ok);
  } else if (kind === 'scopeguard') {
    const { scopeguard, requireScopes } = require('@scopeguard/express');
    const guard = scopeguard({ issuer, audience, jwksUri, algorithms, permissions: 'token' });
    engine = guard.engine;
    app.use(guard);
    app.get('/orders', requireScopes('orders.read'), ok);
  } else if (kind === 'dpop-memory' || kind === 'dpop-redis') {
    // DPoP-bound tokens with a fresh proof per request: the replay store in this process, or shared on
    // Redis (REDIS_URL) as instances behind a load balancer need it. Proofs name PUBLIC_BASE_URL.
    const { scopeguard, requireScopes } = require('@scopeguard/express');
    let replayStore;
    if (kind === 'dpop-redis') {
      const { connectRedis, redisStore } = require('@scopeguard/redis');
      replayStore = redisStore({ client: connectRedis(process.env.REDIS_URL), logger: false }).replayStore;
    }
    const dpop = { mode: 'required', publicBaseUrl: process.env.PUBLIC_BASE_URL, ...(replayStore && { replayStore }) };
    const guard = scopeguard({ issuer, audience, jwksUri, algorithms, permissions: 'token', dpop });
    engine = guard.engine;
    app.use(guard);
    app.get('/orders', requireScopes('orders.read'), ok);
  } else if (kind === 'auth0') {
    const { auth, requiredScopes } = require('express-oauth2-jwt-bearer');
    app.use(auth({ issuer, audience, jwksUri, tokenSigningAlg: 'RS256' }));
    app.get('/orders', requiredScopes('orders.read'), ok);
  } else if (kind === 'passport') {
    const passport = require('passport');
    passport.use(jwtStrategy());
    app.use(passport.initialize());
    app.get('/orders', passport.authenticate('jwt', { session: false }), requireScope('orders.read'), ok);
  }
  return app;
}

/** The passport-jwt + jwks-rsa recipe of the guides. */
function jwtStrategy() {
  const { Strategy, ExtractJwt } = require('passport-jwt');
  const jwksRsa = require('jwks-rsa');
  return new Strategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: jwksRsa.passportJwtSecret({ jwksUri, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
      issuer,
      audience,
      algorithms,
    },
    (payload, done) => done(null, payload),
  );
}

function requireScope(scope) {
  return (req, res, next) => {
    const scopes = typeof req.user?.scope === 'string' ? req.user.scope.split(' ') : [];
    if (scopes.includes(scope)) return next();
    res.status(403).json({ error: 'insufficient_scope' });
  };
}

// ── NestJS (decorators applied as functions: this file is plain JavaScript) ──────────────────
async function nestApp(platform, kind) {
  const { Controller, Get, Module, UseGuards, Injectable } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const decorate = (target, name, ...decorators) => {
    const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
    for (const d of decorators) d(target.prototype, name, descriptor);
  };
  class OrdersController {
    list() {
      return ORDERS;
    }
  }
  const imports = [];
  const providers = [];
  if (kind === 'scopeguard') {
    const { ScopeguardModule, RequireScopes } = require('@scopeguard/nestjs');
    imports.push(ScopeguardModule.forRoot({ issuer, audience, jwksUri, algorithms, permissions: 'token', global: true }));
    decorate(OrdersController, 'list', Get(), RequireScopes('orders.read'));
  } else if (kind === 'passport') {
    const { PassportModule, PassportStrategy, AuthGuard } = require('@nestjs/passport');
    const { Strategy, ExtractJwt } = require('passport-jwt');
    const jwksRsa = require('jwks-rsa');
    class JwtStrategy extends PassportStrategy(Strategy) {
      constructor() {
        super({
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          secretOrKeyProvider: jwksRsa.passportJwtSecret({ jwksUri, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
          issuer, audience, algorithms,
        });
      }
      validate(payload) {
        return payload;
      }
    }
    Injectable()(JwtStrategy);
    class ScopesGuard {
      canActivate(context) {
        const user = context.switchToHttp().getRequest().user;
        return typeof user?.scope === 'string' && user.scope.split(' ').includes('orders.read');
      }
    }
    imports.push(PassportModule);
    providers.push(JwtStrategy);
    decorate(OrdersController, 'list', Get(), UseGuards(AuthGuard('jwt'), ScopesGuard));
  } else if (kind === 'noop' || kind === 'verify') {
    // Floors: a route guard that admits everything (reused tokens), or a bare crypto.verify (unique).
    const verified = kind === 'verify' ? bareVerifier() : () => true;
    class FloorGuard {
      canActivate(context) {
        return verified(context.switchToHttp().getRequest().headers.authorization);
      }
    }
    decorate(OrdersController, 'list', Get(), UseGuards(FloorGuard));
  } else {
    decorate(OrdersController, 'list', Get());
  }
  Controller('orders')(OrdersController);
  class AppModule {}
  Module({ imports, controllers: [OrdersController], providers })(AppModule);
  let app;
  if (platform === 'fastify') {
    const { FastifyAdapter } = require('@nestjs/platform-fastify');
    app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false });
  } else {
    app = await NestFactory.create(AppModule, { logger: false });
  }
  let engine;
  if (kind === 'scopeguard') engine = app.get(require('@scopeguard/core').Scopeguard);
  const http = app.getHttpAdapter();
  http.get('/__stats', (_req, res) => http.reply(res, stats(engine), 200));
  return app;
}

async function main() {
  const [name] = process.argv.slice(2);
  const [family, kind] = name.split(':');
  const workers = Number(process.env.CLUSTER || 1);
  if (workers > 1 && cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    cluster.once('message', (_worker, message) => process.stdout.write(`${JSON.stringify(message)}\n`));
    return;
  }
  let port;
  if (family === 'express') {
    const server = expressApp(kind).listen(Number(process.env.PORT || 0), '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = server.address().port;
  } else if (family === 'fastify' || family === 'hono' || family === 'koa') {
    // Each in a file of its own (servers-<family>.js): resolves with the port it listens on.
    const listen = require(`./servers-${family}.js`);
    port = await listen(kind, { issuer, audience, jwksUri, algorithms, orders: ORDERS, stats, bareVerifier, port: Number(process.env.PORT || 0) });
  } else {
    const app = await nestApp(family === 'nest-fastify' ? 'fastify' : 'express', kind);
    await app.listen(Number(process.env.PORT || 0), '127.0.0.1');
    port = app.getHttpServer().address().port;
  }
  const ready = { port, pid: process.pid };
  if (cluster.isWorker) process.send(ready);
  else process.stdout.write(`${JSON.stringify(ready)}\n`);
}

// Exit normally on signals, so that --cpu-prof can write its profile.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
