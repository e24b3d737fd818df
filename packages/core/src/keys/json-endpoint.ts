/**
 * Bounded JSON requests to the issuer (metadata, key set, introspection): a timeout over the whole
 * exchange, a size cap, and errors that say which endpoint failed and how, without echoing what it
 * returned.
 */
import { hasDuplicateMembers } from '../token/json';

/**
 * A URL as errors, health checks and logs show it: origin and path, without credentials in userinfo or
 * the query string (an API key there must not reach a readiness endpoint or a log).
 */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** The endpoint answered, but not with what we can use, or did not answer in time. */
export class FetchFailure extends Error {
  /** The HTTP status, when the endpoint answered one. */
  readonly status: number | undefined;

  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'FetchFailure';
    this.status = options?.status;
  }
}

const MAX_BODY_BYTES = 512 * 1024;

/**
 * A body as UTF-8 text, counted in bytes as it arrives: a chunked answer (no Content-Length) is cut
 * off at `limit`, never read whole; `tooLarge` is thrown then (after cancelling the rest).
 */
export async function readTextAtMost(body: ReadableStream<Uint8Array>, limit: number, tooLarge: () => Error): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > limit) {
      void reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk.value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** The body as text, at most {@link MAX_BODY_BYTES}. */
function readCapped(response: Response, shown: string): Promise<string> {
  if (response.body === null) return Promise.resolve('');
  return readTextAtMost(response.body, MAX_BODY_BYTES, () => new FetchFailure(`${shown} answered more than ${MAX_BODY_BYTES} bytes`));
}

/** A request other than a plain GET (introspection POSTs a form). */
export interface JsonRequest {
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body: URLSearchParams;
  /**
   * `manual`: a redirect is a failure, never followed (a form with a token or a client secret must not
   * be re-posted to another origin, whose answer would then be trusted).
   */
  readonly redirect?: 'manual';
}

/**
 * Requests `url` (GET unless `request` says otherwise) and parses a JSON object from the answer;
 * anything else, or no whole answer within `timeoutMs`, is a {@link FetchFailure}.
 */
export async function fetchJsonObject(url: string, timeoutMs: number, request?: JsonRequest): Promise<Record<string, unknown>> {
  const shown = shownUrl(url);
  let response: Response;
  try {
    response = await fetch(url, {
      ...request,
      headers: { accept: 'application/json, application/jwk-set+json', ...request?.headers },
      // The signal bounds reading the body too, so a server that trickles its answer times out as well.
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    const reason = cause instanceof Error && cause.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'could not be reached';
    throw new FetchFailure(`${shown} ${reason}`, { cause });
  }
  let text: string;
  try {
    if (!response.ok) throw new FetchFailure(`${shown} answered HTTP ${response.status}`, { status: response.status });
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_BODY_BYTES) throw new FetchFailure(`${shown} answered more than ${MAX_BODY_BYTES} bytes`);
    text = await readCapped(response, shown);
  } catch (cause) {
    await response.body?.cancel().catch(() => undefined);
    if (cause instanceof FetchFailure) throw cause;
    throw new FetchFailure(`${shown} failed while reading the response`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new FetchFailure(`${shown} did not answer JSON`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new FetchFailure(`${shown} did not answer a JSON object`);
  // The same JSON rule as for tokens (RFC 8725): with two `active` or `keys` members, parsers disagree.
  if (hasDuplicateMembers(text, parsed)) throw new FetchFailure(`${shown} answered JSON with duplicate member names`);
  return parsed as Record<string, unknown>;
}
