/**
 * The test kit on node:crypto alone: every algorithm verifies through the real engine, thumbprints
 * follow RFC 7638, signCompact signs whatever it is given, and `bearer()` / `options()` run routes as
 * a given caller with an engine-built principal and pinned keys (no JWKS request).
 */
import 'reflect-metadata';
import { KeyObject, constants, createHash, createPublicKey, generateKeyPairSync, verify, webcrypto } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Scopeguard } from '@scopeguard/core';
import { requireScopes, scopeguard } from '@scopeguard/express';
import { Principal, RequireScopes, ScopeguardModule, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { createDpopKey, createTestIssuer, jwkThumbprint, signCompact, type TestAlgorithm, type TestIssuer } from '@scopeguard/testing';

const ALGORITHMS: TestAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ algorithms: ALGORITHMS });
});
afterAll(() => issuer.close());

const parts = (token: string) => {
  const [header, payload, signature] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>,
    input: Buffer.from(`${header}.${payload}`),
    signature: Buffer.from(signature!, 'base64url'),
  };
};

describe('keys and signatures', () => {
  it.each(ALGORITHMS)('%s: a minted token verifies through the engine with the pinned JWK Set', async (alg) => {
    const before = { ...issuer.requests };
    const engine = new Scopeguard({ ...issuer.options(), permissions: 'token' });
    const principal = await engine.verify(await issuer.mint({ alg, clientId: 'worker', scope: 'orders.read orders.write' }));
    expect(principal).toMatchObject({ clientId: 'worker', issuer: issuer.issuer, scopes: ['orders.read', 'orders.write'] });
    expect(issuer.requests).toEqual(before);
  });

  it.each(ALGORITHMS)('%s: the published JWK is public only, with kid, alg and use', (alg) => {
    const jwk = issuer.jwks().keys.find((key) => key.alg === alg)!;
    expect(jwk).toMatchObject({ alg, use: 'sig', kid: expect.any(String) });
    expect(jwk.d).toBeUndefined();
    expect(createPublicKey({ key: jwk, format: 'jwk' }).type).toBe('public');
  });

  it('signatures have the JWS forms: ECDSA as R‖S, PSS salt = hash length', async () => {
    const sizes: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132, EdDSA: 64, Ed25519: 64, RS256: 256, PS512: 256 };
    for (const [alg, size] of Object.entries(sizes)) {
      const token = parts(await issuer.mint({ alg: alg as TestAlgorithm }));
      expect([alg, token.signature.length]).toEqual([alg, size]);
    }
    const jwk = issuer.jwks().keys.find((key) => key.alg === 'PS384')!;
    const token = parts(await issuer.mint({ alg: 'PS384' }));
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    expect(verify('sha384', token.input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, token.signature)).toBe(true);
    expect(verify('sha384', token.input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }, token.signature)).toBe(false);
  });

  it('RFC 7638 §3.1: the example thumbprint', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it.each(['ES256', 'EdDSA', 'RS256'] as const)('a %s DPoP key: jkt is the thumbprint of its jwk, the proof verifies with it', async (alg) => {
    const key = await createDpopKey(alg);
    const required = key.jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : key.jwk.kty === 'OKP' ? ['crv', 'kty', 'x'] : ['e', 'kty', 'n'];
    const canonical = JSON.stringify(Object.fromEntries(required.map((member) => [member, key.jwk[member]])));
    expect(key.jkt).toBe(createHash('sha256').update(canonical).digest('base64url'));
    const proof = parts(await key.proof({ method: 'GET', url: 'https://api.example.test/orders?x=1', accessToken: 'abc' }));
    expect(proof.header).toMatchObject({ typ: 'dpop+jwt', alg, jwk: key.jwk });
    expect(proof.payload).toMatchObject({ htm: 'GET', htu: 'https://api.example.test/orders' });
    const publicKey = createPublicKey({ key: key.jwk as never, format: 'jwk' });
    const options = alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
    expect(verify(alg === 'EdDSA' ? null : 'sha256', proof.input, options, proof.signature)).toBe(true);
  });
});

describe('signCompact', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('signs a lying alg with the key it is given', async () => {
    for (const alg of ['none', 'HS256', 'ES256', 42]) {
      const token = parts(await signCompact({ alg, typ: 'at+jwt' }, { a: 1 }, rsa.privateKey));
      expect(token.header.alg).toBe(alg);
      expect(verify('sha256', token.input, rsa.publicKey, token.signature)).toBe(true);
    }
  });

  it('signs exact payload text', async () => {
    const [, payload] = (await signCompact({ alg: 'RS256' }, '{"a":1,"a":2}', rsa.privateKey)).split('.');
    expect(Buffer.from(payload!, 'base64url').toString()).toBe('{"a":1,"a":2}');
  });

  it('accepts WebCrypto CryptoKeys, even non-extractable ones, and signs with their algorithm', async () => {
    const cases: [webcrypto.AlgorithmIdentifier | webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams, (key: KeyObject, token: ReturnType<typeof parts>) => boolean][] = [
      [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' } as webcrypto.RsaHashedKeyGenParams,
        (key, token) => verify('sha384', token.input, key, token.signature)],
      [{ name: 'ECDSA', namedCurve: 'P-384' } as webcrypto.EcKeyGenParams,
        (key, token) => verify('sha384', token.input, { key, dsaEncoding: 'ieee-p1363' }, token.signature)],
      [{ name: 'Ed25519' }, (key, token) => verify(null, token.input, key, token.signature)],
    ];
    for (const [params, check] of cases) {
      const pair = (await webcrypto.subtle.generateKey(params, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const token = parts(await signCompact({ alg: 'RS256' }, { a: 1 }, pair.privateKey));
      expect(check(KeyObject.from(pair.publicKey), token)).toBe(true);
    }
  });

  it('refuses a public key, and an algorithm the key cannot make', async () => {
    await expect(signCompact({ alg: 'RS256' }, {}, rsa.publicKey)).rejects.toThrow(/private key/);
    await expect(signCompact({ alg: 'RS256' }, {}, rsa.privateKey, 'ES256')).rejects.toThrow(/cannot sign ES256/);
  });
});

describe('options() and bearer()', () => {
  it('gives issuer, audience, the published JWK Set and its algorithms; extra wins', async () => {
    const single = await createTestIssuer({ algorithms: ['ES256'] });
    try {
      expect(single.options()).toEqual({ issuer: single.issuer, audience: single.audience, keys: single.jwks(), algorithms: ['ES256'] });
      expect(single.options({ audience: 'other', permissions: 'token' })).toMatchObject({ audience: 'other', permissions: 'token' });
      // An ES256-only issuer works with no algorithms of the caller's own (core's default is RS256).
      const principal = await new Scopeguard({ ...single.options(), permissions: 'token' }).verify(await single.mint());
      expect(principal.clientId).toBe('test-client');
      expect(single.requests).toEqual({ jwks: 0, metadata: 0, introspection: 0 });
    } finally {
      await single.close();
    }
  });

  it('bearer() is an Authorization header value', async () => {
    const value = await issuer.bearer({ clientId: 'worker', scope: ['orders.read'] });
    expect(value).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(parts(value.slice(7)).payload).toMatchObject({ client_id: 'worker', scope: 'orders.read' });
  });

  it('Express: a route runs as the given caller, with the engine-built principal', async () => {
    const app = express();
    app.use(scopeguard(issuer.options({ permissions: { worker: ['orders.read'] } })));
    app.get('/orders', requireScopes('orders.read'), (req, res) => {
      res.json({ client: req.auth!.clientId, permissions: req.auth!.permissions });
    });
    const server: Server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
      const ok = await fetch(url, { headers: { authorization: await issuer.bearer({ clientId: 'worker', scope: 'orders.read orders.write' }) } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ client: 'worker', permissions: ['orders.read'] });
      const stranger = await fetch(url, { headers: { authorization: await issuer.bearer({ clientId: 'stranger', scope: 'orders.read' }) } });
      expect(stranger.status).toBe(403);
      expect((await fetch(url)).status).toBe(401);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('Nest: @Principal() is the engine-built principal of the given caller', async () => {
    @RequireScopes('orders.read')
    @Controller('orders')
    class OrdersController {
      @Get()
      list(@Principal() caller: ScopeguardPrincipal) {
        return { client: caller.clientId, scopes: caller.scopes, permissions: caller.permissions };
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [ScopeguardModule.forRoot({ ...issuer.options(), permissions: 'token', global: true })],
      controllers: [OrdersController],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication();
    app.useLogger(false);
    await app.listen(0, '127.0.0.1');
    try {
      const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/orders`;
      const res = await fetch(url, { headers: { authorization: await issuer.bearer({ clientId: 'reporter', scope: 'orders.read' }) } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ client: 'reporter', scopes: ['orders.read'], permissions: ['orders.read'] });
      expect((await fetch(url, { headers: { authorization: await issuer.bearer({ scope: 'orders.write' }) } })).status).toBe(403);
    } finally {
      await app.close();
    }
  });
});

describe('the issuer never keeps a process alive by itself', () => {
  // A test whose beforeAll failed never reaches issuer.close(): Jest must still exit.
  it('a script that starts an issuer, fetches its keys over keep-alive and never closes it exits on its own', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const dist = join(__dirname, '../dist');
    const script = `
      const { createTestIssuer } = require(${JSON.stringify(dist)});
      createTestIssuer().then(async (issuer) => {
        const res = await fetch(issuer.jwksUri);             // undici keeps the connection alive
        if (res.status !== 200) process.exit(3);
        await res.json();
        await issuer.mint();
        console.log('left open');
      });
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = await new Promise<number | null | 'hung'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 10_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect({ exited, output: output.trim() }).toEqual({ exited: 0, output: 'left open' });
  });
});
