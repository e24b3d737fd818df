/** The JSON body of an MCP request: checked when a parser read it, read and parsed (bounded in size and time) when none did. */
import type { IncomingMessage } from 'node:http';
import type { HttpAnswer } from '@scopeguard/core/adapter';
import { jsonRpcError } from './json-rpc';

/** A request with the body a parser may have left on it. */
type BodyRequest = IncomingMessage & { body?: unknown };

/** `application/json`, with parameters: what Streamable HTTP posts. */
export const JSON_TYPE = /^application\/json\s*(?:;|$)/i;
/** The largest body the guard reads itself: the SDK's transport takes at most 4 MB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A body the guard could not take, with its answer. */
class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The answer to a body the guard could not take; a 413 closes the connection (the rest is not read). */
export function bodyErrorAnswer(error: unknown): HttpAnswer {
  if (!(error instanceof BodyError)) return jsonRpcError(400, -32700, 'Parse error: the body could not be read');
  const answer = jsonRpcError(error.status, error.code, error.message);
  return error.status === 413 || error.status === 408 ? { ...answer, headers: { ...answer.headers, connection: 'close' } } : answer;
}

/** What an anonymous caller's body may cost: express.json()'s default limit, which it parses for anyone too. */
const READ_FIRST_BYTES = 100 * 1024;

/** A body of a declared length within {@link READ_FIRST_BYTES}, or one some parser already holds (text, Buffer). */
export function isSmall(req: BodyRequest): boolean {
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) return true;
  const length = req.headers['content-length'];
  return length !== undefined && req.headers['transfer-encoding'] === undefined && Number(length) <= READ_FIRST_BYTES;
}

/** A body stream nobody read: Express 4's parsers leave `req.body = {}` on a type they skip. */
export function unread(req: IncomingMessage): boolean {
  return req.readable && !req.readableEnded && (req as { _body?: unknown })._body !== true;
}

/** A JSON body a parser made: an object or a list (express.json()'s output), not a string or Buffer. */
export function isParsed(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body);
}

/** A request that sent no body at all: express.json() still makes its `req.body` `{}`. */
export function hasNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined);
}

/**
 * The JSON of a body no JSON parser read: express.text()'s string, express.raw()'s Buffer, or the
 * stream itself, read to at most {@link MAX_BODY_BYTES}. Empty (express.json() skips an empty body)
 * or not JSON: 400 Parse error, as the SDK answers it.
 */
export async function bodyOf(req: BodyRequest): Promise<unknown> {
  let text: string;
  if (typeof req.body === 'string') text = req.body;
  else if (Buffer.isBuffer(req.body)) text = req.body.toString('utf8');
  else if (!req.readable || hasNoBody(req)) text = '';
  else text = await readAtMost(req, MAX_BODY_BYTES);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError(400, -32700, text.trim() === '' ? 'Parse error: the body is empty' : 'Parse error: the body is not JSON');
  }
}

/** The longest the guard waits for a body it reads itself: a client that sends a byte a second gets 408. */
const BODY_TIMEOUT_MS = 30_000;

function readAtMost(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(new BodyError(413, -32000, `Payload Too Large: the body exceeds ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: BodyError) => {
      // Stop reading; the answer is sent and the connection closed after it (bodyErrorAnswer).
      req.off('data', onData);
      req.pause();
      clearTimeout(timer);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(new BodyError(413, -32000, `Payload Too Large: the body exceeds ${limit} bytes`));
      chunks.push(chunk);
    };
    const timer = setTimeout(() => stop(new BodyError(408, -32000, `Request Timeout: the body did not arrive within ${BODY_TIMEOUT_MS / 1000} s`)), BODY_TIMEOUT_MS);
    timer.unref();
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', () => stop(new BodyError(400, -32700, 'Parse error: the body could not be read')));
  });
}
