/** Issue 16: OpenTelemetry metrics and spans, through the optional @opentelemetry/api peer dependency. */
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, context, metrics, trace, type Context, type ContextManager, type Meter, type MeterProvider, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { Scopeguard, ScopeguardConfigError, ScopeguardError, scopeRequirement, type ScopeguardOptions } from '@scopeguard/core';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';
import { installTelemetry, type TestTelemetry } from '../../../test/support/telemetry';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ introspection: { clientId: 'orders-api', clientSecret: 's3cret-of-the-api' } });
});
afterAll(() => issuer.close());

let otel: TestTelemetry;
beforeEach(() => {
  otel = installTelemetry();
});
afterEach(() => otel.reset());

const canRead = scopeRequirement('all', ['orders.read']);
const guard = (extra: Partial<ScopeguardOptions> = {}) =>
  new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: { worker: ['orders.read'] }, ...extra } as ScopeguardOptions);
const request = (token: string) => ({ authorization: `Bearer ${token}` });

/** The status an admission ends with: 200, or the refusal's. */
async function statusOf(engine: Scopeguard, token: string, requirements = [canRead]): Promise<number> {
  try {
    await engine.admit(request(token), requirements);
    return 200;
  } catch (error) {
    if (!(error instanceof ScopeguardError)) throw error;
    return error.status;
  }
}

describe('OpenTelemetry', () => {
  it('a reused token: decisions and cache lookups counted, no span per cached request', async () => {
    const engine = guard();
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    for (let i = 0; i < 5; i++) await engine.admit(request(token), [canRead]);
    // Cached from its second verification (the doorkeeper): two misses, then hits.
    expect(await otel.count('scopeguard.cache.lookups', { hit: false })).toBe(2);
    expect(await otel.count('scopeguard.cache.lookups', { hit: true })).toBe(3);
    expect(await otel.count('scopeguard.decisions', { outcome: 'authenticated' })).toBe(5);
    expect(await otel.count('scopeguard.decisions', { outcome: 'allowed' })).toBe(5);
    const spans = otel.spans().length;
    expect(otel.spans('scopeguard.verify')).toHaveLength(2);
    expect(otel.spans('scopeguard.keyset.fetch')).toHaveLength(1);

    for (let i = 0; i < 1000; i++) expect(engine.admit(request(token), [canRead])).not.toBeInstanceOf(Promise);
    expect(otel.spans()).toHaveLength(spans);
    expect(await otel.count('scopeguard.cache.lookups', { hit: true })).toBe(1003);
    expect(await otel.count('scopeguard.decisions', { outcome: 'allowed' })).toBe(1005);
    const [allowed] = (await otel.points('scopeguard.decisions')).filter((point) => point.attributes.outcome === 'allowed');
    expect(allowed!.attributes).toEqual({ outcome: 'allowed' }); // no adapter named, no code
  });

  it('a new token: a verification span and a latency point; a refused one, with its code', async () => {
    const engine = guard();
    await engine.ready();
    expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', scope: 'orders.read' }))).toBe(200);
    const [verify] = otel.spans('scopeguard.verify');
    expect(verify!.attributes['scopeguard.outcome']).toBe('success');
    const [point] = await otel.points('scopeguard.verification.duration');
    expect(point).toMatchObject({ unit: 'ms', value: 1, attributes: { outcome: 'success' } });
    expect(point!.histogram!.sum).toBeGreaterThan(0);
    expect(point!.histogram!.sum).toBeLessThan(1000);

    expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', scope: 'orders.read', expiresIn: -600 }))).toBe(401);
    expect(await otel.count('scopeguard.verification.duration', { outcome: 'refused', code: 'ERR_TOKEN_EXPIRED' })).toBe(1);
    expect(await otel.count('scopeguard.decisions', { outcome: 'refused', code: 'ERR_TOKEN_EXPIRED' })).toBe(1);
    const refused = otel.spans('scopeguard.verify')[1]!;
    expect(refused.attributes).toMatchObject({ 'scopeguard.outcome': 'refused', 'error.type': 'ERR_TOKEN_EXPIRED' });
    expect(refused.status.code).toBe(2); // SpanStatusCode.ERROR

    // A refusal by the route's requirement (after authentication) is counted too.
    expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', scope: 'orders.read' }), [scopeRequirement('all', ['orders.write'])])).toBe(403);
    expect(await otel.count('scopeguard.decisions', { outcome: 'refused', code: 'ERR_INSUFFICIENT_SCOPE' })).toBe(1);
  });

  it('a key-set outage: failed fetches (discovery too) and 503 decisions', async () => {
    const down = await createTestIssuer();
    try {
      down.outage({ scope: 'all' });
      const engine = new Scopeguard({ issuer: down.issuer, audience: down.audience, permissions: 'token' });
      expect(await statusOf(engine, await down.mint({ scope: 'orders.read' }))).toBe(503);
      expect(await otel.count('scopeguard.keyset.fetches', { outcome: 'failure', issuer: down.issuer })).toBe(1);
      expect(await otel.count('scopeguard.keyset.fetches', { outcome: 'success' })).toBe(0);
      expect(await otel.count('scopeguard.decisions', { outcome: 'unavailable', code: 'ERR_KEYS_UNAVAILABLE' })).toBe(1);
      const [fetch] = otel.spans('scopeguard.keyset.fetch');
      expect(fetch!.attributes).toMatchObject({ 'scopeguard.issuer': down.issuer, 'scopeguard.outcome': 'failure', 'error.type': 'FetchFailure' });
      expect(fetch!.status.message).toMatch(/^discovery failed: .*HTTP 503/);
      expect(otel.spans('scopeguard.discovery')[0]!.attributes).toMatchObject({ 'scopeguard.issuer': down.issuer, 'scopeguard.outcome': 'failure' });
      expect(otel.spans('scopeguard.verify')[0]!.attributes).toMatchObject({ 'scopeguard.outcome': 'failure', 'scopeguard.code': 'ERR_KEYS_UNAVAILABLE' });
    } finally {
      await down.close();
    }
  });

  it('the permission resolver and isRevoked: each call counted and spanned, failures as 503s', async () => {
    const engine = guard({ permissions: async () => ['orders.read'], isRevoked: async () => false });
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    for (let i = 0; i < 3; i++) expect(await statusOf(engine, token)).toBe(200);
    // Both answers are cached for their ttl: one call each.
    expect(await otel.count('scopeguard.permission.lookups', { outcome: 'success', issuer: issuer.issuer })).toBe(1);
    expect(await otel.count('scopeguard.revocation.checks', { outcome: 'success', issuer: issuer.issuer })).toBe(1);
    expect(otel.spans('scopeguard.permissions.lookup')[0]!.attributes).toEqual({
      'scopeguard.issuer': issuer.issuer,
      'scopeguard.client_id': 'worker',
      'scopeguard.outcome': 'success',
    });
    expect(otel.spans('scopeguard.revocation.check')[0]!.attributes).toEqual({ 'scopeguard.issuer': issuer.issuer, 'scopeguard.outcome': 'success' });

    const failing = guard({
      permissions: () => {
        throw new Error('db password=hunter2 unreachable');
      },
      isRevoked: () => Promise.reject(new Error('deny list down')),
    });
    expect(await statusOf(failing, token)).toBe(503);
    expect(await otel.count('scopeguard.revocation.checks', { outcome: 'failure', code: 'ERR_REVOCATION_UNAVAILABLE' })).toBe(1);
    expect(await otel.count('scopeguard.decisions', { outcome: 'unavailable', code: 'ERR_REVOCATION_UNAVAILABLE' })).toBe(1);
    const noRevocation = guard({
      permissions: () => {
        throw new Error('db password=hunter2 unreachable');
      },
    });
    expect(await statusOf(noRevocation, token)).toBe(503);
    expect(await otel.count('scopeguard.permission.lookups', { outcome: 'failure', code: 'ERR_PERMISSIONS_UNAVAILABLE' })).toBe(1);
    const [failed] = otel.spans('scopeguard.permissions.lookup').filter((span) => span.attributes['scopeguard.outcome'] === 'failure');
    expect(failed!.status).toEqual({ code: 2 }); // no message: an app's error may hold anything
    expect(JSON.stringify(otel.spans().map((span) => [span.attributes, span.status, span.events]))).not.toContain('hunter2');
  });

  it('introspection: requests and the answers cache counted, spanned', async () => {
    const engine = new Scopeguard({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
      permissions: 'token',
      introspection: { endpoint: issuer.introspectionEndpoint!, clientId: 'orders-api', clientSecret: 's3cret-of-the-api' },
    });
    const opaque = issuer.mintOpaque({ scope: 'orders.read' });
    expect(await statusOf(engine, opaque)).toBe(200);
    expect(await statusOf(engine, opaque)).toBe(200);
    expect(await otel.count('scopeguard.introspection.requests', { outcome: 'success' })).toBe(1);
    expect(await otel.count('scopeguard.cache.lookups', { hit: false })).toBe(1);
    expect(await otel.count('scopeguard.cache.lookups', { hit: true })).toBe(1);
    expect(otel.spans('scopeguard.introspect')).toHaveLength(1);
    expect(await statusOf(engine, 'not-a-token-the-issuer-knows')).toBe(401);
    expect(await otel.count('scopeguard.introspection.requests', { outcome: 'refused', code: 'ERR_TOKEN_INACTIVE' })).toBe(1);
  });

  it('the token, its claims and the client secret never appear in what is exported', async () => {
    const secretClaim = 'claim-value-that-must-not-leak';
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read', claims: { jti: 'jti-that-must-not-leak', note: secretClaim } });
    const expired = await issuer.mint({ clientId: 'worker', scope: 'orders.read', expiresIn: -600 });
    const opaque = issuer.mintOpaque({ scope: 'orders.read' });
    const engine = guard({
      permissions: async () => ['orders.read'],
      isRevoked: async () => false,
      introspection: { endpoint: issuer.introspectionEndpoint!, clientId: 'orders-api', clientSecret: 's3cret-of-the-api' },
    });
    for (const each of [token, token, token, expired, opaque, `${token}x`]) await statusOf(engine, each);
    const exported = JSON.stringify({
      metrics: await otel.everything(),
      spans: otel.spans().map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events, links: span.links })),
    });
    expect(exported).toContain('scopeguard.verify'); // something was exported
    for (const forbidden of [token, ...token.split('.'), expired.split('.')[2]!, opaque, secretClaim, 'jti-that-must-not-leak', 's3cret-of-the-api']) {
      expect(exported).not.toContain(forbidden);
    }
  });

  it('the adapter attribute comes from the telemetry option; telemetry: false records nothing', async () => {
    const named = guard({ telemetry: { adapter: 'grpc' } });
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    await named.admit(request(token), [canRead]);
    expect(await otel.count('scopeguard.decisions', { outcome: 'allowed', adapter: 'grpc' })).toBe(1);

    // Every data point, without its collection times.
    const recorded = async () => JSON.stringify(await otel.everything(), (key, value: unknown) => (key === 'startTime' || key === 'endTime' ? undefined : value));
    const before = await recorded();
    const spans = otel.spans().length;
    const silent = guard({ telemetry: false });
    for (let i = 0; i < 3; i++) await silent.admit(request(token), [canRead]);
    await statusOf(silent, 'a.b.c');
    expect(await recorded()).toBe(before);
    expect(otel.spans()).toHaveLength(spans);

    expect(() => guard({ telemetry: { adapter: 'has space' } })).toThrow(new ScopeguardConfigError('telemetry.adapter', 'must be a short name (letters, digits, ".", "_", "-"; at most 64 characters)'));
    expect(() => guard({ telemetry: { adaptor: 'x' } as never })).toThrow(/telemetry\.adaptor/);
    expect(() => guard({ telemetry: true as never })).toThrow(/telemetry/);
  });
});

/**
 * A context manager that keeps the active context on a stack and counts the contexts made active:
 * enough to see what scopeguard makes active, since its spans start synchronously.
 */
function countingContextManager(): { manager: ContextManager; entered: () => number } {
  const stack: Context[] = [ROOT_CONTEXT];
  let entered = 0;
  const manager: ContextManager = {
    active: () => stack.at(-1)!,
    with: (active, fn, thisArg, ...args) => {
      entered++;
      stack.push(active);
      try {
        return fn.call(thisArg, ...args);
      } finally {
        stack.pop();
      }
    },
    bind: (_context, target) => target,
    enable: () => manager,
    disable: () => manager,
  };
  return { manager, entered: () => entered };
}

describe('a span is made active only when it has something to hand on', () => {
  let counting: ReturnType<typeof countingContextManager>;
  beforeEach(() => {
    counting = countingContextManager();
    context.setGlobalContextManager(counting.manager);
  });
  afterEach(() => context.disable());
  /** No SDK at all: the test telemetry unregistered (which disables the context manager too), the counting one back. */
  const withoutSdk = async () => {
    await otel.reset();
    context.setGlobalContextManager(counting.manager);
  };

  it("without an SDK, a new token's no-op span is not made active; under an incoming trace, it is, and carries that trace", async () => {
    await withoutSdk();
    const engine = guard();
    await engine.ready();
    expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', scope: 'orders.read' }))).toBe(200);
    expect(counting.entered()).toBe(0);

    // A caller's trace, sampled out upstream: nothing records, but the context still travels.
    const incoming = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 0 };
    let seen: unknown;
    const engineSeeing = guard({
      permissions: () => {
        seen = trace.getSpanContext(context.active());
        return ['orders.read'];
      },
    });
    await engineSeeing.ready();
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    const admitted = context.with(trace.setSpanContext(ROOT_CONTEXT, incoming), () => engineSeeing.admit(request(token), [canRead]));
    await admitted;
    expect(counting.entered()).toBeGreaterThan(1);
    expect(seen).toEqual(incoming);
  });

  it("a tracer's non-recording span with an invalid context of its own making is not made active either", async () => {
    await withoutSdk();
    // Equal to the API's invalid context but another object (another copy of the API, a custom tracer).
    const provider = { getTracer: () => ({ startSpan: () => trace.wrapSpanContext({ ...INVALID_SPAN_CONTEXT }), startActiveSpan: () => undefined }) as unknown as Tracer };
    trace.setGlobalTracerProvider(provider);
    try {
      const engine = guard();
      await engine.ready();
      expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', scope: 'orders.read' }))).toBe(200);
      expect(counting.entered()).toBe(0);
    } finally {
      trace.disable();
    }
  });

  it('with an SDK, what a verification starts nests under its span', async () => {
    const engine = guard({ permissions: () => ['orders.read'] });
    expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', scope: 'orders.read' }))).toBe(200);
    expect(counting.entered()).toBeGreaterThan(0);
    const [verify] = otel.spans('scopeguard.verify');
    const nested = otel.spans().filter((span) => span.parentSpanContext?.spanId === verify!.spanContext().spanId);
    expect(nested.map((span) => span.name)).toEqual(expect.arrayContaining(['scopeguard.keyset.fetch']));
  });
});

describe('a failing OpenTelemetry SDK changes no answer', () => {
  const fails = () => {
    throw new Error('the SDK failed');
  };
  const throwingSpan = new Proxy({} as Span, { get: () => fails });
  const throwingTracer = { startSpan: () => throwingSpan, startActiveSpan: fails } as unknown as Tracer;
  const throwingInstrument = { add: fails, record: fails };
  const throwingMeter = new Proxy({} as Meter, { get: () => () => throwingInstrument });
  const throwingContext: ContextManager = { active: () => ROOT_CONTEXT, with: fails, bind: (_context, target) => target, enable: () => throwingContext, disable: () => throwingContext };

  const variants: [string, () => void][] = [
    ['providers that throw on getMeter and getTracer', () => {
      metrics.setGlobalMeterProvider({ getMeter: fails } as MeterProvider);
      trace.setGlobalTracerProvider({ getTracer: fails } as TracerProvider);
    }],
    ['instruments and spans that throw, and a context manager that throws', () => {
      metrics.setGlobalMeterProvider({ getMeter: () => throwingMeter });
      trace.setGlobalTracerProvider({ getTracer: () => throwingTracer });
      context.setGlobalContextManager(throwingContext);
    }],
    ['a tracer whose startSpan throws', () => {
      metrics.setGlobalMeterProvider({ getMeter: () => throwingMeter });
      trace.setGlobalTracerProvider({ getTracer: () => ({ startSpan: fails, startActiveSpan: fails }) as unknown as Tracer });
    }],
  ];

  it.each(variants)('%s', async (_name, install) => {
    await otel.reset();
    install();
    try {
      const permissionCalls: string[] = [];
      const engine = guard({
        permissions: async ({ clientId }) => (permissionCalls.push(clientId), ['orders.read']),
        isRevoked: () => false,
      });
      const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
      for (let i = 0; i < 4; i++) expect(await statusOf(engine, token)).toBe(200);
      expect(engine.admit(request(token), [canRead])).not.toBeInstanceOf(Promise);
      expect(permissionCalls).toEqual(['worker']); // the call ran once, not twice around a failing context manager
      expect(await statusOf(engine, token, [scopeRequirement('all', ['orders.write'])])).toBe(403);
      expect(await statusOf(engine, await issuer.mint({ clientId: 'worker', expiresIn: -600 }))).toBe(401);
      expect(await statusOf(engine, 'not.a.token')).toBe(await statusOf(guard({ telemetry: false }), 'not.a.token'));
      const down = await createTestIssuer();
      down.outage();
      try {
        const unavailable = new Scopeguard({ issuer: down.issuer, audience: down.audience, jwksUri: down.jwksUri, permissions: 'token' });
        expect(await statusOf(unavailable, await down.mint({ scope: 'orders.read' }))).toBe(503);
      } finally {
        await down.close();
      }
    } finally {
      metrics.disable();
      trace.disable();
      context.disable();
    }
  });

  it('an exporter that throws', async () => {
    await otel.reset();
    const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor({ export: fails, shutdown: async () => undefined })] }));
    try {
      const engine = guard();
      const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
      for (let i = 0; i < 3; i++) expect(await statusOf(engine, token)).toBe(200);
    } finally {
      trace.disable();
    }
  });
});

describe('without @opentelemetry/api', () => {
  afterEach(() => jest.dontMock('@opentelemetry/api'));

  it('core loads and answers as always, recording nothing', async () => {
    jest.doMock('@opentelemetry/api', () => {
      throw new Error("Cannot find module '@opentelemetry/api'");
    });
    let core!: typeof import('@scopeguard/core') & typeof import('@scopeguard/core/adapter');
    jest.isolateModules(() => {
      core = { ...(require('@scopeguard/core') as typeof import('@scopeguard/core')), ...(require('@scopeguard/core/adapter') as typeof import('@scopeguard/core/adapter')) };
    });
    expect(() => require('@opentelemetry/api')).toThrow(/Cannot find module/);
    const engine = new core.Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, permissions: async () => ['orders.read'] });
    const token = await issuer.mint({ clientId: 'worker', scope: 'orders.read' });
    const requirement = core.scopeRequirement('all', ['orders.read']);
    for (let i = 0; i < 3; i++) await engine.admit(request(token), [requirement]);
    expect(engine.admit(request(token), [requirement])).not.toBeInstanceOf(Promise);
    expect(() => engine.admit(request(token), [core.scopeRequirement('all', ['orders.write'])])).toThrow(core.InsufficientScopeError);
    // The SDK is registered (this file's own API instance), but this core could not load the API.
    expect(await otel.everything()).toEqual([]);
    expect(otel.spans()).toEqual([]);
  });
});
