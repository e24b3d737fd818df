/**
 * What every framework adapter needs besides {@link Scopeguard.admit}, written once: the options all
 * adapters take (a logger for start-up notices, a decision log), and the HTTP answers they send (a
 * refusal, the RFC 9728 metadata document) as status, headers and body text, for the adapter to copy
 * onto its framework's reply.
 */
import { describeDecision, withAuditLog, type DecisionEvent } from '../hooks/audit';
import { Scopeguard } from '../pipeline/engine';
import type { ScopeguardError } from './errors';
import type { OperatorLogger } from '../hooks/operator-log';
import type { ScopeguardOptions } from '../pipeline/options';

/**
 * Where start-up notices and the operator's lines go (see {@link Scopeguard.logTo}): `warn` is
 * required; `error` (outages) and `info` (recoveries) are used when present. `console`, pino and
 * winston loggers fit as they are.
 */
export type NoticeLogger = OperatorLogger;

/** The options every adapter takes besides the engine's. */
export interface AdapterOptions {
  /**
   * Where what an operator must see goes, with nothing else configured: start-up notices (no
   * `permissions`, so the intersection is off), each outage of a key set or dependency once and its
   * recovery, 500s, and refusals that point at a configuration mistake (an `iss` or `aud` that does
   * not match on most requests, naming both sides; an unknown client; bursts of unknown `kid`s).
   * Rate-limited (each kind of line at most once a minute), never a token. Default `console`;
   * `false` for none.
   */
  logger?: NoticeLogger | false;
  /**
   * One line per decision (method, route, client, status, code, why; never the token), as
   * {@link describeDecision} writes it: `true` for the console (refusals to `console.warn`, outages to
   * `console.error`, allowed requests to `console.log`; admissions, which a route's verdict follows,
   * left out), or a function of your logger's, given every event. `onDecision` still runs.
   */
  auditLog?: boolean | ((line: string, event: DecisionEvent) => void);
}

/** An adapter's options: the engine's and {@link AdapterOptions}. */
export type GuardOptions = ScopeguardOptions & AdapterOptions;

/**
 * The engine an adapter uses: `options` itself when it is an engine (shared with other code), else a
 * new one from the engine's options, with `auditLog` wired into `onDecision`. Start-up notices go to
 * the logger. `adapter` names the caller in errors about these options.
 * @throws {@link ScopeguardConfigError} for a wrong engine option; `TypeError` for a wrong `logger` or `auditLog`.
 */
export function engineFrom(options: GuardOptions | Scopeguard, adapter: string): Scopeguard {
  if (options instanceof Scopeguard) {
    options.logTo(console);
    return options;
  }
  const { logger = console, auditLog, ...engineOptions } = options;
  if (logger !== false && typeof (logger as { warn?: unknown } | null)?.warn !== 'function') {
    throw new TypeError(`${adapter}: option "logger" must have a warn(message) method, or be false`);
  }
  if (auditLog !== undefined && typeof auditLog !== 'boolean' && typeof auditLog !== 'function') {
    throw new TypeError(`${adapter}: option "auditLog" must be true, false or a function`);
  }
  const { onDecision } = engineOptions;
  const audit = auditLog ? withAuditLog((event) => writeDecision(event, auditLog), onDecision) : onDecision;
  const engine = new Scopeguard({ ...engineOptions, ...(audit && { onDecision: audit }) });
  // Outages, key-set changes and configuration mistakes, rate-limited (operator-log.ts).
  if (logger !== false) engine.logTo(logger);
  return engine;
}

/**
 * The `auditLog` option's line for `event`. On the console, an admission is left out: the route's
 * verdict follows it (`allowed` or `refused`); a function gets every event.
 */
function writeDecision(event: DecisionEvent, auditLog: true | ((line: string, event: DecisionEvent) => void)): void {
  const line = describeDecision(event);
  if (typeof auditLog === 'function') return auditLog(line, event);
  if (event.outcome === 'authenticated') return;
  if (event.outcome === 'refused') console.warn(line);
  else if (event.outcome === 'allowed') console.log(line);
  else console.error(line);
}

/** An HTTP answer: status, headers (content type included) and the body text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The part of Node's `ServerResponse` an answer is written to (types only: nothing of node:http loads). */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** Writes an answer onto a Node response (Express, Nest's middleware, a plain `http` server). */
export function sendAnswer({ status, headers, body }: HttpAnswer, res: NodeResponseLike): void {
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.end(body);
}

/** A refusal from {@link Scopeguard.admit} as `engine` answers it: status, `WWW-Authenticate` (with `scopeHint` on a 401), JSON body. */
export function refusalAnswer(engine: Scopeguard, error: ScopeguardError, scopeHint?: readonly string[]): HttpAnswer {
  const { status, headers, body } = engine.errorResponse(error, scopeHint);
  return { status, headers: { ...headers, 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
}

/**
 * Whether a request is for `engine`'s RFC 9728 metadata document (GET or HEAD of its path, with or
 * without a query): public, answered before authentication with {@link metadataAnswer}.
 */
export function isMetadataRequest(engine: Scopeguard, method: string | undefined, target: string | undefined): boolean {
  const path = engine.resourceMetadataPath;
  if (path === undefined || (method !== 'GET' && method !== 'HEAD') || target === undefined) return false;
  return target === path || target.startsWith(`${path}?`);
}

/** The RFC 9728 document with `scopes` (the routes' required scopes) added to `scopes_supported`. */
export function metadataAnswer(engine: Scopeguard, scopes: Iterable<string> = []): HttpAnswer | undefined {
  engine.declareScopes(scopes);
  const metadata = engine.resourceMetadata();
  if (metadata === undefined) return undefined;
  return { status: 200, headers: { 'content-type': JSON_TYPE, 'cache-control': 'public, max-age=300' }, body: JSON.stringify(metadata.document) };
}

/**
 * A health check's answer (Kubernetes readiness, a load balancer): `200` when every issuer's key set
 * can verify tokens now, else `503`, with `engine.health()` as JSON (states, ages, the last fetch
 * error). It names the issuers' URLs: serve it where only your orchestrator asks.
 */
export function healthAnswer(engine: Scopeguard): HttpAnswer {
  let health: ReturnType<Scopeguard['health']>;
  try {
    health = engine.health();
  } catch {
    // A failing clock (or worse): not ready, and nothing of the failure in the answer.
    return { status: 503, headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store' }, body: JSON.stringify({ status: 'down', issuers: [] }) };
  }
  return {
    status: health.ready ? 200 : 503,
    headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store' },
    body: JSON.stringify({ status: health.ready ? 'up' : 'down', issuers: health.issuers }),
  };
}

