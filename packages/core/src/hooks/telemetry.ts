/**
 * OpenTelemetry, when the app has it. `@opentelemetry/api` is an optional peer dependency, loaded
 * once (at the first engine's construction) with `require`: without it, or with `telemetry: false`,
 * an engine holds no telemetry at all (`undefined`), and each place that records is one skipped
 * branch. With it, each engine takes the meter and tracer of the providers registered then (the API
 * hands out a no-op meter before an SDK is registered: start the SDK first, as OpenTelemetry asks).
 *
 * What is recorded: every decision and every verdict-cache lookup (counters whose attribute objects
 * are made once, so a request allocates nothing); the verification of a token not in the cache (a
 * span and a latency histogram); every remote call (key set and discovery fetches, introspection,
 * the permission resolver, `isRevoked`) as a span and a counter by outcome. Never a span on the
 * cached path: one would cost more than the whole cached request (~1.5 µs).
 *
 * Attributes never hold the token, its claims or a secret: outcome, error code, adapter, issuer
 * (bounded by the configuration, and by `maxIssuers` for patterns); the client id only on the span
 * of a permission lookup (a span attribute makes no time series). An SDK that throws changes no
 * answer: every call into OpenTelemetry is wrapped.
 */
import { ScopeguardError } from '../http/errors';
import { FetchFailure } from '../keys/json-endpoint';
import { fail, object, only } from '../pipeline/option-checks';

type Api = typeof import('@opentelemetry/api');
type Attributes = import('@opentelemetry/api').Attributes;
type Counter = import('@opentelemetry/api').Counter;
type Histogram = import('@opentelemetry/api').Histogram;
type Span = import('@opentelemetry/api').Span;
type SpanContext = import('@opentelemetry/api').SpanContext;
type Tracer = import('@opentelemetry/api').Tracer;

/** The `telemetry` option. */
export interface TelemetryOptions {
  /**
   * The `adapter` attribute of decisions (`express`, `nestjs`, …), for an app that runs several
   * adapters; left out when not given.
   */
  adapter?: string;
}

/** A decision's outcome, as in `DecisionEvent`. */
export type DecisionOutcome = 'authenticated' | 'allowed' | 'refused' | 'unavailable' | 'error';

/** What is traced: the verification of an uncached token, and each kind of remote call. */
export type Operation = 'verification' | 'keySetFetch' | 'discovery' | 'introspection' | 'permissionLookup' | 'revocationCheck';

/** About a remote call: its issuer (a metric and span attribute) and client id (the span's only). */
export interface CallAbout {
  readonly issuer?: string | undefined;
  readonly clientId?: string | undefined;
}

/** An engine's instruments (see the top of this file). */
export interface Telemetry {
  /** Counts a decision: one per `onDecision` event, whether or not there is a sink. */
  decided(outcome: DecisionOutcome, code?: string): void;
  /** Counts a verdict-cache lookup. */
  looked(hit: boolean): void;
  /** Runs `call` under its span, and records its duration or outcome; answers (or throws) what `call` does. */
  run<T>(operation: Operation, call: () => T, about?: CallAbout): T;
}

/** Runs `call` as `operation`: traced and counted when `telemetry` is on, as it is otherwise. */
export function traced<T>(telemetry: Telemetry | undefined, operation: Operation, call: () => T, about?: CallAbout): T {
  return telemetry === undefined ? call() : telemetry.run(operation, call, about);
}

/** `undefined`: not tried yet; `null`: not installed (or failing to load). */
let loaded: { api: Api; version: string | undefined } | null | undefined;

function openTelemetry(): { api: Api; version: string | undefined } | undefined {
  if (loaded === undefined) {
    try {
      // Names in variables, not literals: a bundler (esbuild for workerd) would otherwise pull the
      // API into every bundle, or fail when it is not installed. Where there is no `require`, no telemetry.
      const name = '@opentelemetry/api';
      const manifest = '../package.json';
      const api = require(name) as Api;
      let version: string | undefined;
      try {
        version = (require(manifest) as { version?: string }).version;
      } catch {
        version = undefined;
      }
      loaded = { api, version };
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/**
 * The engine's telemetry: `undefined` when `options` is `false`, when `@opentelemetry/api` cannot be
 * loaded, or when its providers fail to give a meter and a tracer.
 */
export function telemetryFor(options: Readonly<TelemetryOptions> | false): Telemetry | undefined {
  if (options === false) return undefined;
  const found = openTelemetry();
  if (found === undefined) return undefined;
  try {
    return new OpenTelemetry(found.api, found.version, options.adapter);
  } catch {
    return undefined;
  }
}

const NAME = '@scopeguard/core';
const HIT: Attributes = Object.freeze({ hit: true });
const MISS: Attributes = Object.freeze({ hit: false });

/** Verification takes tens of microseconds, or the time of a key-set fetch: the SDK's default buckets start at 5 ms. */
const DURATION_BUCKETS_MS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

const SPAN_NAMES: Readonly<Record<Operation, string>> = {
  verification: 'scopeguard.verify',
  keySetFetch: 'scopeguard.keyset.fetch',
  discovery: 'scopeguard.discovery',
  introspection: 'scopeguard.introspect',
  permissionLookup: 'scopeguard.permissions.lookup',
  revocationCheck: 'scopeguard.revocation.check',
};

class OpenTelemetry implements Telemetry {
  readonly #api: Api;
  readonly #invalidContext: SpanContext;
  readonly #tracer: Tracer;
  readonly #decisions: Counter;
  readonly #lookups: Counter;
  readonly #duration: Histogram;
  /** The counter of each remote call (discovery has none: its failure fails the key-set fetch, counted there). */
  readonly #calls: Readonly<Partial<Record<Operation, Counter>>>;
  readonly #adapter: string | undefined;
  readonly #authenticated: Attributes;
  readonly #allowed: Attributes;
  /** Refusals' attributes by outcome and code, made once each (codes are a closed set). */
  readonly #refusals = { refused: new Map<string, Attributes>(), unavailable: new Map<string, Attributes>(), error: new Map<string, Attributes>() };

  constructor(api: Api, version: string | undefined, adapter: string | undefined) {
    this.#api = api;
    this.#invalidContext = api.INVALID_SPAN_CONTEXT;
    const meter = api.metrics.getMeter(NAME, version);
    this.#tracer = api.trace.getTracer(NAME, version);
    this.#decisions = meter.createCounter('scopeguard.decisions', { unit: '{decision}', description: 'Decisions on requests, by outcome and refusal code' });
    this.#lookups = meter.createCounter('scopeguard.cache.lookups', { unit: '{lookup}', description: 'Verdict-cache lookups, by hit' });
    this.#duration = meter.createHistogram('scopeguard.verification.duration', {
      unit: 'ms',
      description: 'Verification of a token not in the verdict cache (parse, signature, claims; waiting for keys when they are being fetched)',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_MS },
    });
    this.#calls = {
      keySetFetch: meter.createCounter('scopeguard.keyset.fetches', { unit: '{fetch}', description: 'Key-set fetches (with discovery), by outcome' }),
      introspection: meter.createCounter('scopeguard.introspection.requests', { unit: '{request}', description: 'Introspection requests, by outcome' }),
      permissionLookup: meter.createCounter('scopeguard.permission.lookups', { unit: '{lookup}', description: 'Permission resolver calls, by outcome' }),
      revocationCheck: meter.createCounter('scopeguard.revocation.checks', { unit: '{check}', description: 'isRevoked calls, by outcome' }),
    };
    this.#adapter = adapter;
    this.#authenticated = this.#decisionAttributes('authenticated', undefined);
    this.#allowed = this.#decisionAttributes('allowed', undefined);
  }

  decided(outcome: DecisionOutcome, code?: string): void {
    const attributes = outcome === 'authenticated' ? this.#authenticated : outcome === 'allowed' ? this.#allowed : this.#refusal(outcome, code ?? '');
    try {
      this.#decisions.add(1, attributes);
    } catch {
      // A failing SDK changes no answer.
    }
  }

  looked(hit: boolean): void {
    try {
      this.#lookups.add(1, hit ? HIT : MISS);
    } catch {
      // A failing SDK changes no answer.
    }
  }

  run<T>(operation: Operation, call: () => T, about?: CallAbout): T {
    const started = performance.now();
    const span = this.#start(operation, about);
    let result: T;
    try {
      result = span === undefined || !this.#propagates(span) ? call() : this.#within(span, call);
    } catch (error) {
      this.#finish(operation, about, span, started, true, error);
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.#finish(operation, about, span, started, false, undefined);
      return result;
    }
    return result.then(
      (value: unknown) => {
        this.#finish(operation, about, span, started, false, undefined);
        return value;
      },
      (error: unknown) => {
        this.#finish(operation, about, span, started, true, error);
        throw error;
      },
    ) as T;
  }

  #decisionAttributes(outcome: DecisionOutcome, code: string | undefined): Attributes {
    return Object.freeze({ outcome, ...(code && { code }), ...(this.#adapter !== undefined && { adapter: this.#adapter }) });
  }

  #refusal(outcome: 'refused' | 'unavailable' | 'error', code: string): Attributes {
    const known = this.#refusals[outcome];
    let attributes = known.get(code);
    if (attributes === undefined) {
      attributes = this.#decisionAttributes(outcome, code);
      known.set(code, attributes);
    }
    return attributes;
  }

  #start(operation: Operation, about: CallAbout | undefined): Span | undefined {
    try {
      const attributes: Attributes = {};
      if (about?.issuer !== undefined) attributes['scopeguard.issuer'] = about.issuer;
      if (about?.clientId !== undefined) attributes['scopeguard.client_id'] = about.clientId;
      return this.#tracer.startSpan(SPAN_NAMES[operation], { attributes });
    } catch {
      return undefined;
    }
  }

  /**
   * Whether `span` has anything to hand to spans started under it: the API's no-op tracer (no SDK
   * registered) gives spans that record nothing and carry no trace, and making one active measured
   * ~700 bytes and ~2 µs per new token (a context, its map, the closures below) for nothing.
   */
  #propagates(span: Span): boolean {
    try {
      if (span.isRecording()) return true;
      // The no-op tracer's root spans share the API's invalid context: known by identity, without
      // the validity check's scan of its trace id (0.7–1.7k instructions a new token over HTTP).
      const spanContext = span.spanContext();
      return spanContext !== this.#invalidContext && this.#api.trace.isSpanContextValid(spanContext);
    } catch {
      return false;
    }
  }

  /** Runs `call` with `span` active (so that spans started underneath, an HTTP client's, nest in it); never twice, whatever the context manager does. */
  #within<T>(span: Span, call: () => T): T {
    const { context, trace } = this.#api;
    let active;
    try {
      active = trace.setSpan(context.active(), span);
    } catch {
      return call();
    }
    let called = false;
    let returned = false;
    let failure: { error: unknown } | undefined;
    let result: T;
    // Whatever the context manager does (return something else, call twice, throw), the call runs
    // exactly once and its own result or failure is what the caller gets.
    const once = () => {
      if (called) return result;
      called = true;
      try {
        result = call();
      } catch (error) {
        failure = { error };
        throw error;
      }
      returned = true;
      return result;
    };
    try {
      context.with(active, once);
    } catch {
      // The context manager failed around the call (or rethrew its failure): handled below.
    }
    if (failure !== undefined) throw failure.error;
    return returned ? result! : once();
  }

  #finish(operation: Operation, about: CallAbout | undefined, span: Span | undefined, started: number, failed: boolean, error: unknown): void {
    const scopeguardError = error instanceof ScopeguardError ? error : undefined;
    // refused: the call answered, and the answer refuses the token (a bad signature, an inactive token).
    const outcome = !failed ? 'success' : scopeguardError !== undefined && scopeguardError.status < 500 ? 'refused' : 'failure';
    try {
      const attributes: Attributes = { outcome };
      if (scopeguardError !== undefined) attributes.code = scopeguardError.code;
      if (about?.issuer !== undefined) attributes.issuer = about.issuer;
      if (operation === 'verification') this.#duration.record(performance.now() - started, attributes);
      else this.#calls[operation]?.add(1, attributes);
    } catch {
      // A failing SDK changes no answer.
    }
    if (span === undefined) return;
    try {
      span.setAttribute('scopeguard.outcome', outcome);
      if (failed) {
        // The type, never the message of an app's error (a resolver's may hold anything); ours name only the endpoint and what went wrong.
        const type = scopeguardError?.code ?? (error instanceof Error ? error.name : 'unknown');
        span.setAttribute('error.type', type);
        if (scopeguardError !== undefined) span.setAttribute('scopeguard.code', scopeguardError.code);
        const cause = scopeguardError?.cause ?? error;
        span.setStatus({ code: this.#api.SpanStatusCode.ERROR, ...(cause instanceof FetchFailure && { message: cause.message }) });
      }
    } catch {
      // A failing SDK changes no answer.
    }
    try {
      span.end();
    } catch {
      // idem
    }
  }
}

// ── Options ─────────────────────────────────────────────────────────────────────────────────

// An attribute value on every decision: a short name, as an adapter's (not a place for request data).
const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The `telemetry` option: `false`, or `{ adapter? }`. */
export function resolveTelemetry(value: unknown): Readonly<TelemetryOptions> | false {
  if (value === false) return false;
  const input = object('telemetry', value);
  only('telemetry', input, ['adapter']);
  const { adapter } = input;
  if (adapter !== undefined && (typeof adapter !== 'string' || !ADAPTER_NAME.test(adapter))) {
    fail('telemetry.adapter', 'must be a short name (letters, digits, ".", "_", "-"; at most 64 characters)');
  }
  return Object.freeze(adapter === undefined ? {} : { adapter });
}
