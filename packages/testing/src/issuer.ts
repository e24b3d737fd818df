/**
 * A local token issuer for tests: generated keys, a JWKS and RFC 8414 / OpenID discovery
 * documents served on 127.0.0.1 (an ephemeral port), and token minting with any claims.
 */
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, publicJwk, signCompact, type JWK, type TestAlgorithm } from './keys';

export { signCompact, type JWK, type SigningKeyInput, type TestAlgorithm } from './keys';

/** Options of {@link createTestIssuer}. */
export interface TestIssuerOptions {
  /** One key is generated per algorithm; the first signs by default. Default `['RS256']`. */
  algorithms?: readonly TestAlgorithm[];
  /** A path after the origin, e.g. `/tenant-a` (tests RFC 8414 path insertion). Default none. */
  path?: string;
  /** Audience minted when {@link MintOptions.audience} is not given. Default `https://api.example.test`. */
  audience?: string;
  /** Serve RFC 7662 introspection at `/introspect` for these client credentials (HTTP Basic or form post). */
  introspection?: { clientId: string; clientSecret: string };
}

/** What {@link TestIssuer.mint} puts in a token. */
export interface MintOptions {
  /** Sets `client_id`, and `sub` unless `subject` is given. Default `test-client`. */
  clientId?: string;
  /** `sub`. Default: the client id (a client-credentials token per RFC 9068 §2.2). */
  subject?: string;
  /** `scope`, space-delimited; an array is joined. */
  scope?: string | readonly string[];
  /** `aud`. Default: the issuer's audience. */
  audience?: string | readonly string[];
  /** `iss`. Default: this issuer. */
  issuer?: string;
  /** Seconds until `exp`; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Seconds from now for `nbf` (omitted when undefined). */
  notBefore?: number;
  /** Seconds from now for `iat` (0 = now). Default 0. */
  issuedAt?: number;
  /** Extra claims; they override the defaults, and a value of `undefined` removes a claim. */
  claims?: Record<string, unknown>;
  /** Extra header parameters; `undefined` removes one (e.g. `{ typ: undefined }`). */
  header?: Record<string, unknown>;
  /** Which key signs: an algorithm the issuer holds. Default: the first. */
  alg?: TestAlgorithm;
  /** Sign with this key id (after {@link TestIssuer.rotate}). */
  kid?: string;
}

/** How the JWKS endpoint misbehaves during {@link TestIssuer.outage}. */
export interface Outage {
  /** Status to answer. Default 503. */
  status?: number;
  /** Body to answer. Default a short text. */
  body?: string;
  /** Content type. Default `text/plain`. */
  contentType?: string;
  /** Wait this long before answering (to exceed a client's timeout). */
  delayMs?: number;
  /** Which endpoints fail: `jwks` (default) or `all` (discovery too). */
  scope?: 'jwks' | 'all';
}

interface SigningKey {
  readonly kid: string;
  readonly alg: TestAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

/**
 * What {@link TestIssuer.options} returns: scopeguard issuer options that trust this issuer with its
 * keys pinned (no discovery, no JWKS request).
 */
export interface PinnedIssuerOptions {
  /** The issuer identifier (`iss`). */
  issuer: string;
  /** The issuer's default audience. */
  audience: string;
  /** The JWK Set published when `options()` was called (keys added by a later `rotate()` are not in it). */
  keys: { keys: JWK[] };
  /** The algorithms of those keys, so that every key the issuer signs with is allowed. */
  algorithms: TestAlgorithm[];
}

/** A running test issuer. Create with {@link createTestIssuer}; `close()` when done. */
export class TestIssuer {
  /** The issuer identifier (`iss`), e.g. `http://127.0.0.1:40123`. */
  readonly issuer: string;
  /** The JWKS URL. */
  readonly jwksUri: string;
  /** The default audience of minted tokens. */
  readonly audience: string;
  /** Requests received per endpoint, for asserting fetch counts. */
  readonly requests = { jwks: 0, metadata: 0, introspection: 0 };
  /** The RFC 7662 endpoint, when enabled. */
  readonly introspectionEndpoint: string | undefined;
  readonly #introspection: { clientId: string; clientSecret: string } | undefined;
  readonly #opaque = new Map<string, Record<string, unknown>>();
  readonly #server: Server;
  readonly #keys: SigningKey[];
  readonly #published = new Set<string>();
  #outage: Outage | undefined;

  /** @internal use {@link createTestIssuer}. */
  constructor(server: Server, issuer: string, audience: string, keys: SigningKey[], introspection?: { clientId: string; clientSecret: string }) {
    this.#server = server;
    this.#introspection = introspection;
    this.introspectionEndpoint = introspection && `${new URL(issuer).origin}/introspect`;
    this.issuer = issuer;
    this.jwksUri = `${new URL(issuer).origin}/.well-known/jwks.json`;
    this.audience = audience;
    this.#keys = keys;
    for (const key of keys) this.#published.add(key.kid);
    server.on('request', (req, res) => this.#handle(req, res));
  }

  /** The key ids currently published in the JWKS. */
  get kids(): string[] {
    return this.#keys.filter((key) => this.#published.has(key.kid)).map((key) => key.kid);
  }

  /** The published JWK Set, as served. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.filter((key) => this.#published.has(key.kid)).map((key) => key.publicJwk) };
  }

  /**
   * Options for scopeguard (`new Scopeguard(...)`, `scopeguard(...)`, `ScopeguardModule.forRoot(...)`)
   * that trust this issuer with its published keys pinned: `{ issuer, audience, keys, algorithms }`,
   * then `extra` (which wins). The app under test verifies real tokens with no discovery and no JWKS
   * fetch. The keys are a snapshot: call again after {@link rotate} or {@link unpublish}.
   */
  options(): PinnedIssuerOptions;
  options<T extends object>(extra: T): Omit<PinnedIssuerOptions, keyof T> & T;
  options(extra: object = {}): PinnedIssuerOptions {
    const keys = this.jwks().keys.map((key) => ({ ...key }));
    const algorithms = [...new Set(keys.map((key) => key.alg as TestAlgorithm))];
    return { issuer: this.issuer, audience: this.audience, keys: { keys }, algorithms, ...extra };
  }

  /**
   * An `Authorization` header value for a freshly minted token: `Bearer <token>`. Call a route as a
   * given caller: `fetch(url, { headers: { authorization: await issuer.bearer({ clientId, scope }) } })`.
   */
  async bearer(options: MintOptions = {}): Promise<string> {
    return `Bearer ${await this.mint(options)}`;
  }

  /** Mints a signed access token (`typ: at+jwt`) with RFC 9068 claims, overridable at will. */
  async mint(options: MintOptions = {}): Promise<string> {
    const key = this.#signingKey(options);
    const now = Math.floor(Date.now() / 1000);
    const clientId = options.clientId ?? 'test-client';
    const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
    const payload: Record<string, unknown> = {
      iss: options.issuer ?? this.issuer,
      sub: options.subject ?? clientId,
      aud: options.audience ?? this.audience,
      client_id: clientId,
      iat: now + (options.issuedAt ?? 0),
      exp: now + (options.expiresIn ?? 300),
      jti: randomUUID(),
      ...(scope !== undefined && { scope }),
      ...(options.notBefore !== undefined && { nbf: now + options.notBefore }),
      ...options.claims,
    };
    const header: Record<string, unknown> = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...options.header };
    return signCompact(dropUndefined(header), dropUndefined(payload), key.privateKey, key.alg);
  }

  /**
   * Signs exactly this payload text (or object) with the issuer's key: for tokens no claims object
   * can express, such as duplicate member names or `1e400`. The header defaults to `alg`, `typ: at+jwt`, `kid`.
   */
  async sign(payload: string | Record<string, unknown>, header: Record<string, unknown> = {}, alg?: TestAlgorithm): Promise<string> {
    const key = this.#signingKey({ ...(alg && { alg }) });
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return signCompact(dropUndefined({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header }), text, key.privateKey, key.alg);
  }

  /**
   * Mints an opaque (random, non-JWT) token that the introspection endpoint knows; its answer holds
   * the same claims a JWT from {@link mint} would.
   */
  mintOpaque(options: Omit<MintOptions, 'header' | 'alg' | 'kid'> = {}): string {
    if (!this.#introspection) throw new Error('test issuer: created without introspection');
    const now = Math.floor(Date.now() / 1000);
    const clientId = options.clientId ?? 'test-client';
    const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
    const token = randomBytes(24).toString('base64url');
    this.#opaque.set(token, dropUndefined({
      active: true,
      iss: options.issuer ?? this.issuer,
      sub: options.subject ?? clientId,
      aud: options.audience ?? this.audience,
      client_id: clientId,
      token_type: 'Bearer',
      iat: now + (options.issuedAt ?? 0),
      exp: now + (options.expiresIn ?? 300),
      ...(scope !== undefined && { scope }),
      ...options.claims,
    }));
    return token;
  }

  /** Revokes an opaque token: introspection answers `active: false` from now on. */
  revoke(token: string): void {
    this.#opaque.delete(token);
  }

  /** Adds a new key (same algorithm as the default unless given) and makes it sign by default. Returns its kid. */
  async rotate(alg: TestAlgorithm = this.#keys[0]!.alg): Promise<string> {
    const key = await generateSigningKey(alg);
    this.#keys.unshift(key);
    this.#published.add(key.kid);
    return key.kid;
  }

  /** Stops publishing a key; tokens it signed can no longer be verified once clients refetch. */
  unpublish(kid: string): void {
    this.#published.delete(kid);
  }

  /** Makes the JWKS (or every endpoint) fail until {@link recover}. */
  outage(outage: Outage = {}): void {
    this.#outage = outage;
  }

  /** Ends an {@link outage}. */
  recover(): void {
    this.#outage = undefined;
  }

  /** Stops the server. */
  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve, reject) => this.#server.close((error) => (error ? reject(error) : resolve())));
  }

  async #introspect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.introspection++;
    const form = await readForm(req);
    const outage = this.#outage;
    if (outage?.scope === 'all') {
      res.writeHead(outage.status ?? 503, { 'content-type': 'text/plain' }).end(outage.body ?? 'unavailable');
      return;
    }
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent)
      : [form.get('client_id'), form.get('client_secret')];
    if (req.method !== 'POST' || id !== this.#introspection!.clientId || secret !== this.#introspection!.clientSecret) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic' }).end('{"error":"invalid_client"}');
      return;
    }
    const claims = this.#opaque.get(form.get('token') ?? '');
    const now = Math.floor(Date.now() / 1000);
    const body = claims && (claims.exp as number) > now ? claims : { active: false };
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  }

  #signingKey(options: MintOptions): SigningKey {
    const key = options.kid !== undefined
      ? this.#keys.find((candidate) => candidate.kid === options.kid)
      : this.#keys.find((candidate) => options.alg === undefined || candidate.alg === options.alg);
    if (!key) throw new Error(`test issuer: no key for ${options.kid ?? options.alg}`);
    return key;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.issuer).pathname;
    const issuerPath = new URL(this.issuer).pathname.replace(/\/$/, '');
    if (path === '/introspect' && this.#introspection) {
      this.#introspect(req, res).catch(() => res.destroy());
      return;
    }
    const isJwks = path === '/.well-known/jwks.json';
    const isMetadata =
      path === `/.well-known/oauth-authorization-server${issuerPath}` || path === `${issuerPath}/.well-known/openid-configuration`;
    if (isJwks) this.requests.jwks++;
    if (isMetadata) this.requests.metadata++;
    const outage = this.#outage;
    if (outage && (isJwks || (isMetadata && outage.scope === 'all'))) {
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(outage.status ?? 503, { 'content-type': outage.contentType ?? 'text/plain' });
        res.end(outage.body ?? 'unavailable');
      };
      if (outage.delayMs) setTimeout(answer, outage.delayMs).unref();
      else answer();
      return;
    }
    let body: unknown;
    if (isJwks) body = this.jwks();
    else if (isMetadata) {
      body = {
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        // No token_endpoint: tokens come from mint()/bearer(), and an advertised URL that answers 404
        // would send a client (or a person reading the document) the wrong way.
        ...(this.introspectionEndpoint && { introspection_endpoint: this.introspectionEndpoint }),
      };
    }
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  }
}

/** RFC 7662 §2: the protected resource authenticates, then asks about one token. */
function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function dropUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

async function generateSigningKey(alg: TestAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = randomUUID();
  return { kid, alg, privateKey, publicJwk: { ...publicJwk(publicKey), kid, alg, use: 'sig' } };
}

/** Starts a test issuer on 127.0.0.1 with a fresh key per algorithm. */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const algorithms = options.algorithms ?? ['RS256'];
  if (algorithms.length === 0) throw new TypeError('test issuer: algorithms must not be empty');
  const keys = await Promise.all(algorithms.map(generateSigningKey));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // Never what keeps a process alive: a test run whose beforeAll failed before close() still exits
  // (the listener and every connection it accepts, keep-alive ones included, are unref'd).
  server.unref();
  server.on('connection', (socket) => socket.unref());
  const { port } = server.address() as AddressInfo;
  const path = options.path ? `/${options.path.replace(/^\/+|\/+$/g, '')}` : '';
  return new TestIssuer(server, `http://127.0.0.1:${port}${path}`, options.audience ?? 'https://api.example.test', keys, options.introspection);
}
