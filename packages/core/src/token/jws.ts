/**
 * Compact JWS parsing (RFC 7515 §7.1), shared by access tokens and DPoP proofs: three segments of
 * canonical, unpadded base64url; header and payload UTF-8 JSON objects without duplicate members.
 * Nothing here checks a signature or a claim.
 */
import { detachedCopy, freezeAndFindDuplicates } from './json';
import { platform } from '../keys/platform';

/** A parsed compact JWS. Its header and payload are deeply frozen: verdicts and memos share them. */
export interface ParsedJws {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signature: Uint8Array;
  /** `header.payload` as sent: what the signature covers. */
  readonly signingInput: string;
}

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;
/** Three base64url segments joined by dots: a compact JWS's alphabet and form, in one pass. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * What {@link hasCompactJwsForm} learnt of the last token it found well-formed. Bearer extraction asks
 * first (such a token is a valid b64token too), then verification parses the same string and takes
 * over what was checked: one pass over a new token instead of two. On Node that is the payload's
 * text and the signature's bytes, each decoded and found canonical in one go, and the header a recent
 * token had; elsewhere only that the alphabet was checked (~1.4 µs for 700 characters, in process).
 * Encoding and JSON are checked as always. Taken once, so that two parses never share the bytes.
 */
interface CheckedForm {
  readonly token: string;
  /** Where its two dots are, when it was decoded. */
  readonly first?: number;
  readonly second?: number;
  readonly header?: Record<string, unknown> | undefined;
  readonly payloadText?: string;
  readonly signature?: Uint8Array;
}
let lastChecked: CheckedForm | undefined;

/** Whether `token` has the form of a compact JWS: three non-empty base64url segments. */
export function hasCompactJwsForm(token: string): boolean {
  lastChecked = decodedForm(token) ?? (COMPACT_JWS.test(token) ? { token } : undefined);
  return lastChecked !== undefined;
}

/**
 * On Node, a token's form found by decoding it: three non-empty segments, the header's alphabet by
 * pattern (unless a recent token had it), the payload and the signature canonical. `undefined` when
 * not, or elsewhere: the pattern then decides, and a segment that fails is parsed again to say why.
 */
function decodedForm(token: string): CheckedForm | undefined {
  const { decodeCanonicalBase64url: bytesOf, decodeCanonicalBase64urlText: textOf } = platform();
  if (bytesOf === undefined || textOf === undefined) return undefined;
  const first = token.indexOf('.');
  const second = first <= 0 ? -1 : token.indexOf('.', first + 1);
  if (second <= first + 1 || second === token.length - 1 || token.indexOf('.', second + 1) !== -1) return undefined;
  const headerSegment = token.slice(0, first);
  const header = knownHeader(headerSegment);
  if (header === undefined && !BASE64URL_SEGMENT.test(headerSegment)) return undefined;
  const payloadText = textOf(token.slice(first + 1, second));
  const signature = payloadText === undefined ? undefined : bytesOf(token.slice(second + 1));
  return signature === undefined ? undefined : { token, first, second, header, payloadText, signature };
}
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one segment; only the canonical, unpadded base64url of its bytes is accepted (RFC 7515
 * §2): no length of 4n+1, and no bits set in the last character beyond the encoded bytes. On Node
 * the decoding checks that; elsewhere, or to say what is wrong, the patterns do.
 */
function decodeSegment(segment: string, fail: (description: string) => never, alphabetChecked: boolean): Uint8Array {
  const bytes = segment.length === 0 ? undefined : platform().decodeCanonicalBase64url?.(segment);
  if (bytes !== undefined) return bytes;
  checkSegment(segment, fail, alphabetChecked);
  return platform().decodeBase64url(segment);
}

/** The payload's text, as {@link decodeSegment} decodes; `undefined` when its bytes are not UTF-8. */
function decodePayload(segment: string, fail: (description: string) => never, alphabetChecked: boolean): string | undefined {
  const text = segment.length === 0 ? undefined : platform().decodeCanonicalBase64urlText?.(segment);
  if (text !== undefined) return text;
  checkSegment(segment, fail, alphabetChecked);
  return segmentText(segment);
}

function checkSegment(segment: string, fail: (description: string) => never, alphabetChecked: boolean): void {
  if (!alphabetChecked && !BASE64URL_SEGMENT.test(segment)) fail('the token is not made of three base64url segments');
  if (!isCanonical(segment)) fail('the token uses non-canonical base64url');
}

/** A segment's UTF-8 text (a BOM dropped), decoded without checking its encoding; `undefined` when it is not UTF-8. */
function segmentText(segment: string): string | undefined {
  try {
    return UTF8.decode(platform().decodeBase64url(segment));
  } catch {
    return undefined;
  }
}

function isCanonical(segment: string): boolean {
  const tail = segment.length % 4;
  const unusedBits = tail === 2 ? 0b1111 : tail === 3 ? 0b11 : 0;
  return tail !== 1 && (ALPHABET.indexOf(segment[segment.length - 1]!) & unusedBits) === 0;
}

const NOT_A_JWS = 'the token is not a JWS in compact serialization: its first segment is not a base64url-encoded JSON header';

/**
 * The header: a JSON object in base64url, else the string is no JWS at all (`not.a.token`), which is
 * said so rather than a finding about its encoding; a real header with a tampered encoding is
 * "non-canonical", as any segment.
 */
function parseHeader(segment: string, fail: (description: string) => never, alphabetChecked: boolean): Record<string, unknown> {
  const known = knownHeader(segment);
  if (known !== undefined) return known;
  if (!alphabetChecked && !BASE64URL_SEGMENT.test(segment)) fail(NOT_A_JWS);
  const header = parseJsonObject(segmentText(segment), 'header', (description) =>
    fail(description.includes('duplicate') ? description : NOT_A_JWS),
  );
  if (!isCanonical(segment)) fail('the token uses non-canonical base64url');
  if (segment.length <= REMEMBERED_HEADER_LENGTH) {
    if (recentHeaders.size >= RECENT_HEADERS) recentHeaders.clear();
    // A copy of the segment as the key: the slice would keep the whole token alive.
    const copy = detachedCopy(segment);
    lastHeader = { segment: copy, header };
    recentHeaders.set(copy, lastHeader);
  }
  return header;
}

/**
 * The parsed header of a recent token with this header segment. The last one found is compared
 * first: a new token's segment is a fresh slice, and a `Map` lookup hashes all of it (1.9k
 * instructions for a 100-character header, against 0.35k to compare it; an issuer signs with one
 * key at a time, so its tokens' headers are one). The last one is always one of the map's entries:
 * bounded as {@link recentHeaders}.
 */
function knownHeader(segment: string): Record<string, unknown> | undefined {
  const last = lastHeader;
  if (last !== undefined && last.segment === segment) return last.header;
  const known = recentHeaders.get(segment);
  if (known !== undefined) lastHeader = known;
  return known?.header;
}

/**
 * Headers parsed lately, by their segment. An issuer's tokens share a header per signing key, so a
 * new token's header is decoded and parsed once per key, not once per token (~1 µs of the ~20 around
 * each new token's signature). Only headers that parsed are kept, frozen, since tokens share them;
 * the caller's header rules run on every token as before. Bounded: a stream of distinct headers (an
 * attacker's random kids) only starts it over every {@link RECENT_HEADERS}, and it holds at most
 * that many copies of short segments.
 */
const recentHeaders = new Map<string, RecentHeader>();
interface RecentHeader {
  /** The segment, as the map's key (a detached copy). */
  readonly segment: string;
  readonly header: Record<string, unknown>;
}
let lastHeader: RecentHeader | undefined;
const RECENT_HEADERS = 16;
/** Real headers encode to 100–300 characters; longer ones are parsed each time and not kept. */
const REMEMBERED_HEADER_LENGTH = 512;

/** A JOSE header or claims set: UTF-8 JSON, an object, no duplicate member names (RFC 8725 §3.x); frozen, as it is shared. */
function parseJsonObject(text: string | undefined, what: string, fail: (description: string) => never): Record<string, unknown> {
  if (text === undefined) fail(`the token ${what} is not valid UTF-8 JSON`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(`the token ${what} is not valid UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`the token ${what} is not a JSON object`);
  if (freezeAndFindDuplicates(text, value)) fail('the token has duplicate JSON member names');
  return value as Record<string, unknown>;
}

/**
 * Parses a compact JWS; `fail` throws the caller's error (401 for tokens, DPoP errors for proofs).
 * `checkHeader` runs as soon as the header is read, so header rules (an `alg` of `none`) are
 * reported before anything about the payload or signature.
 */
export function parseCompactJws(token: string, fail: (description: string) => never, checkHeader?: (header: Record<string, unknown>) => void): ParsedJws {
  const checked = lastChecked?.token === token ? lastChecked : undefined;
  if (checked !== undefined) lastChecked = undefined;
  let first = checked?.first ?? -1;
  let second = checked?.second ?? -1;
  if (second === -1) {
    // The dots found by indexOf, not split: no array, and ~0.35 µs less per new token.
    first = token.indexOf('.');
    second = first === -1 ? -1 : token.indexOf('.', first + 1);
    const third = second === -1 ? -1 : token.indexOf('.', second + 1);
    if (third !== -1) {
      const fourth = token.indexOf('.', third + 1);
      if (fourth !== -1 && token.indexOf('.', fourth + 1) === -1) fail('encrypted tokens (JWE) are not accepted');
    }
    if (second === -1 || third !== -1) fail('the token is not a JWS in compact serialization');
  }
  const alphabetChecked = checked !== undefined;
  const header = checked?.header ?? parseHeader(token.slice(0, first), fail, alphabetChecked);
  checkHeader?.(header);
  const payload = parseJsonObject(checked?.payloadText ?? decodePayload(token.slice(first + 1, second), fail, alphabetChecked), 'payload', fail);
  const signature = checked?.signature ?? decodeSegment(token.slice(second + 1), fail, alphabetChecked);
  return { header, payload, signature, signingInput: token.slice(0, second) };
}
