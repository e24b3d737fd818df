/**
 * What an operator must see without configuring anything (every adapter turns it on with its
 * framework's logger; `logger: false` turns it off): each outage of a dependency once and its
 * recovery, key-set changes, 500s, and refusals that point at a configuration mistake — an issuer
 * or audience that does not match on most requests, a client the permissions do not name, bursts of
 * unknown `kid`s, and any such refusal ten times in a minute. Per-request lines stay opt-in (`auditLog`).
 *
 * Bounded: each kind of line at most once per interval (later ones counted into the next), and at
 * most {@link MAX_LINES_PER_INTERVAL} lines an interval in all, so a flood of bad tokens cannot
 * flood the log. Lines carry codes and the refusal's `detail` (values quoted, escaped, capped);
 * never a token.
 */
import { describeKeySet } from './audit';
import type { ScopeguardError, ScopeguardErrorCode } from '../http/errors';
import type { KeySetEvent } from '../keys/jwks';

/** Where operator lines go: `warn` is required; `error` (outages, 500s) and `info` (recoveries) are used when present. */
export interface OperatorLogger {
  warn(message: string): void;
  error?(message: string): void;
  info?(message: string): void;
}

/** The window over which shares are counted and each kind of line is written at most once. */
export const OPERATOR_LOG_INTERVAL_MS = 60_000;
const MAX_LINES_PER_INTERVAL = 20;
/**
 * A kind of refusal is worth a line when it is most requests, or this many in a window: a burst of
 * unknown `kid`s, or one misconfigured caller among many healthy ones (the same mistake again and
 * again). A stray foreign token is neither.
 */
const BURST = 10;

/** Refusals that, on most requests, mean the options and the authorization server disagree. */
function configurationKind(error: ScopeguardError): string | undefined {
  const claim = (error as { claim?: unknown }).claim;
  switch (error.code) {
    case 'ERR_TOKEN_CLAIM':
      return claim === 'iss' || claim === 'aud' || claim === 'client_id' || claim === 'token_use' ? `${error.code}:${claim}` : undefined;
    case 'ERR_TOKEN_TYPE':
    case 'ERR_TOKEN_ALG_NOT_ALLOWED':
    case 'ERR_TOKEN_NOT_YET_VALID':
    case 'ERR_UNKNOWN_CLIENT':
    case 'ERR_TOKEN_KEY_NOT_FOUND':
      return error.code;
    default:
      return undefined;
  }
}

interface Outage {
  readonly since: number;
  refused: number;
  readonly line: string;
}

/** The operator's log of one engine. */
export class OperatorLog {
  readonly #logger: OperatorLogger;
  readonly #clock: () => number;
  readonly #intervalMs: number;
  #windowStart: number;
  /** Requests decided in this window (each counted once: its authentication or its refusal before it). */
  #requests = 0;
  /** Admissions since the clock was last read: when a window ends, they may belong to the next one. */
  #unread = 0;
  #linesInWindow = 0;
  #droppedLines = 0;
  /** Per kind of refusal: how many this window, when its line was last written, how many since. */
  readonly #kinds = new Map<string, { inWindow: number; lastLine: number; since: number }>();
  /** Open dependency outages by code (key sets report theirs through {@link keySet}). */
  readonly #outages = new Map<ScopeguardErrorCode, Outage>();

  constructor(logger: OperatorLogger, clock: () => number = Date.now, intervalMs = OPERATOR_LOG_INTERVAL_MS) {
    this.#logger = logger;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    // The first window opens now: admissions count before any line is due (passed() rarely reads the clock).
    this.#windowStart = clock();
  }

  /** A request was authenticated: counts it, and ends every open outage (its dependencies answered). */
  passed(): void {
    // On the request path of every admitted request: a counter, and the clock only every 64th time
    // (a window's count is then off by at most 63 admissions, which a share of "most" tolerates).
    this.#requests++;
    if ((++this.#unread & 63) === 0) this.#roll();
    if (this.#outages.size === 0) return;
    const now = this.#clock();
    for (const [code, outage] of this.#outages) {
      this.#write('info', `scopeguard: ${code} is over: requests are decided again after ${outage.refused} got 503 over ${Math.round((now - outage.since) / 1000)} s`);
    }
    this.#outages.clear();
  }

  /** A refusal, of any status; only what points at the operator is written. */
  refused(error: ScopeguardError): void {
    const now = this.#roll();
    // A route's 403 follows its request's authentication, which counted the request already.
    if (error.code !== 'ERR_INSUFFICIENT_SCOPE') this.#requests++;
    if (error.status === 503) return this.#unavailable(error, now);
    if (error.status === 500) return this.#rare(`500:${error.code}`, now, 'error', `scopeguard: a request failed unexpectedly (500 ${error.code}): ${causeOf(error) ?? error.description}`);
    const kind = configurationKind(error);
    if (kind === undefined) return;
    const counts = this.#counts(kind);
    counts.inWindow++;
    const most = counts.inWindow * 2 > this.#requests;
    if (!most && counts.inWindow < BURST) return;
    const share = `${counts.inWindow} of ${this.#requests} request(s) in the last ${Math.round(this.#intervalMs / 1000)} s`;
    const what = error.detail === undefined ? error.description : `${error.description}: ${error.detail}`;
    const advice = error.code === 'ERR_TOKEN_KEY_NOT_FOUND' ? 'a key rotation the key set does not show yet, or forged kids' : 'check the options against the authorization server';
    this.#rare(kind, now, 'warn', `scopeguard: ${error.status} ${error.code} on ${share}: ${what} (${advice})`);
  }

  /** A key-set change: written as {@link describeKeySet} says it, recoveries as information. */
  keySet(event: KeySetEvent): void {
    this.#roll();
    this.#write(event.state === 'recovered' ? 'info' : event.state === 'stale' ? 'warn' : 'error', describeKeySet(event));
  }

  #unavailable(error: ScopeguardError, now: number): void {
    // Key sets report their own outages, with the issuer and the URL (keySet()).
    if (error.code === 'ERR_KEYS_UNAVAILABLE') return;
    const open = this.#outages.get(error.code);
    if (open !== undefined) {
      open.refused++;
      return;
    }
    const cause = causeOf(error);
    const line = `scopeguard: ${error.code}: ${error.description}${cause === undefined ? '' : ` (${cause})`}; requests that need it get 503 until it answers`;
    this.#outages.set(error.code, { since: now, refused: 1, line });
    this.#rare(`503:${error.code}`, now, 'error', line);
  }

  /** Writes a kind of line at most once per interval; the next one says how many were held back. */
  #rare(kind: string, now: number, level: 'warn' | 'error', line: string): void {
    const counts = this.#counts(kind);
    if (now - counts.lastLine < this.#intervalMs) {
      counts.since++;
      return;
    }
    const held = counts.since > 0 ? ` [${counts.since} more since the last such line]` : '';
    counts.lastLine = now;
    counts.since = 0;
    this.#write(level, `${line}${held}`);
  }

  #counts(kind: string) {
    let counts = this.#kinds.get(kind);
    if (counts === undefined) {
      counts = { inWindow: 0, lastLine: -Infinity, since: 0 };
      this.#kinds.set(kind, counts);
    }
    return counts;
  }

  /** Starts a new window when the last one is over; returns now. */
  #roll(): number {
    const now = this.#clock();
    if (now - this.#windowStart >= this.#intervalMs) {
      this.#windowStart = now;
      // Admissions not yet placed in time are counted in the new window: a quiet service's few
      // admissions still outweigh one foreign token (erring towards no line, never towards a false one).
      this.#requests = this.#unread;
      this.#linesInWindow = 0;
      for (const counts of this.#kinds.values()) counts.inWindow = 0;
    }
    this.#unread = 0;
    return now;
  }

  #write(level: 'warn' | 'error' | 'info', line: string): void {
    if (this.#linesInWindow >= MAX_LINES_PER_INTERVAL) {
      this.#droppedLines++;
      return;
    }
    this.#linesInWindow++;
    const dropped = this.#droppedLines > 0 ? ` [${this.#droppedLines} operator line(s) dropped before this one: more than ${MAX_LINES_PER_INTERVAL} a minute]` : '';
    this.#droppedLines = 0;
    const logger = this.#logger;
    // One line, whatever a cause's message held: control and bidi characters escaped.
    const text = `${line}${dropped}`.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
    try {
      const write = level === 'error' ? logger.error : level === 'info' ? logger.info : undefined;
      if (typeof write === 'function') write.call(logger, text);
      else logger.warn(text);
    } catch {
      // A failing logger changes no answer.
    }
  }
}

/** What failed underneath a 503 or 500 (an error message we wrote: URLs, statuses; never a token). */
function causeOf(error: ScopeguardError): string | undefined {
  return error.cause instanceof Error ? error.cause.message : undefined;
}
