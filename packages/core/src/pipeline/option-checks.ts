/**
 * The checks every feature's options are validated with (a wrong option throws
 * {@link ScopeguardConfigError} naming it), shared by each feature's own resolution beside it
 * (`resolveDpop` in proof/dpop.ts, `resolveJwks` in keys/jwks.ts, …) and the composing `resolveOptions`.
 */
import { ScopeguardConfigError } from '../http/errors';

export function fail(option: string, message: string): never {
  throw new ScopeguardConfigError(option, message);
}

/** Options adapters take off before the engine sees the rest: named in suggestions only. */
export const ADAPTER_OPTIONS = ['logger', 'auditLog', 'defaultPolicy', 'warmStart', 'global'];

/** Where an option of another layer belongs, when it reaches the engine anyway. */
const ELSEWHERE: Readonly<Record<string, string>> = {
  global:
    'is not an engine option: on Nest, pass global: true to ScopeguardModule.forRoot() or forRootAsync() itself (beside useFactory, not in the options useFactory returns); the other adapters guard what they are mounted on',
  defaultPolicy: 'is an option of @scopeguard/nestjs (ScopeguardModule), not of the engine or this adapter',
  warmStart: 'is an option of @scopeguard/nestjs (ScopeguardModule), not of the engine or this adapter; elsewhere await engine.ready() before listening',
  logger: 'is an adapter option (scopeguard({ logger })): for an engine built with new Scopeguard(), call engine.logTo(logger)',
  auditLog: 'is an adapter option (scopeguard({ auditLog: true })): for an engine built with new Scopeguard(), use onDecision with describeDecision',
};

/** Optimal string alignment distance (edits, adjacent swaps), case-insensitive. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const rows = Array.from({ length: x.length + 1 }, (_, i) => [i, ...new Array<number>(y.length).fill(0)]);
  for (let j = 1; j <= y.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[x.length]![y.length]!;
}

/** Refuses `key`, which is not among `known`, naming the nearest known option when one is close (`audiance` → `audience`). */
export function unknownOption(option: string, key: string, known: readonly string[]): never {
  if (Object.hasOwn(ELSEWHERE, key) && !option.includes('.')) fail(option, ELSEWHERE[key]!);
  // A very long key is compared with nothing: the quadratic distance stays bounded.
  let nearest: string | undefined;
  let distance = key.length >= 8 ? 3 : key.length >= 4 ? 2 : 1;
  if (key.length <= 64) {
    for (const candidate of known) {
      const d = editDistance(key, candidate);
      if (d <= distance && (nearest === undefined || d < editDistance(key, nearest))) {
        nearest = candidate;
        distance = d;
      }
    }
  }
  fail(option, nearest === undefined ? 'is not a known option' : `is not a known option; did you mean "${nearest}"?`);
}

export function stringList(option: string, value: unknown, required: boolean): string[] {
  if (value === undefined && !required) return [];
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? [...value] : fail(option, 'must be a string or an array of strings');
  if (list.length === 0) fail(option, 'must not be empty');
  for (const item of list) if (typeof item !== 'string' || item.length === 0) fail(option, 'must hold non-empty strings');
  return list as string[];
}

export function httpUrl(option: string, value: unknown): string {
  if (typeof value !== 'string') fail(option, 'must be a URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(option, 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(option, 'must be an http(s) URL');
  return value;
}

export function number(option: string, value: unknown, fallback: number, min: number, integer = false, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    fail(option, `must be a ${integer ? 'whole ' : ''}number of at least ${min}${max < Infinity ? ` and at most ${max}` : ''}`);
  }
  return value;
}

/** Node's timers hold at most 2^31 − 1 ms; a longer timeout silently becomes 1 ms. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** A deadline in milliseconds, as timers can hold it. */
export function timeout(option: string, value: unknown, fallback: number): number {
  return number(option, value, fallback, 1, false, MAX_TIMEOUT_MS);
}

export function boolean(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(option, 'must be true or false');
  return value;
}

export function object(option: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(option, 'must be an object');
  return value as Record<string, unknown>;
}

export function only(option: string, value: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) unknownOption(`${option}.${key}`, key, keys);
}
