/**
 * Command-line parsing for the `scopeguard` bin: node:util's parseArgs (no dependency), strict, with
 * every mistake turned into a {@link UsageError} so that main.ts can print the usage and exit 2.
 */
import { parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2, with the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage text of the command that was called. */
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** The parsed flags (string, string list or boolean, by option) and the positionals. */
export interface Parsed {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

/** Parses `argv` against `options`; unknown flags, missing values and the like are {@link UsageError}s. */
export function parse(argv: readonly string[], options: Options, usage: string): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    // parseArgs throws a TypeError whose message names the flag (ERR_PARSE_ARGS_UNKNOWN_OPTION, …).
    throw new UsageError((error as Error).message, usage);
  }
}

/** A flag's single value, or `undefined`. */
export function text(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A flag's values: repeated flags, each possibly a comma-separated list (`--algorithms RS256,ES256`). */
export function list(parsed: Parsed, name: string, split = true): string[] {
  const value = parsed.values[name];
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return all.flatMap((item) => (typeof item !== 'string' ? [] : split ? item.split(',') : [item])).map((item) => item.trim()).filter(Boolean);
}

/** A flag's value, which must be given. */
export function required(parsed: Parsed, name: string, usage: string): string {
  const value = text(parsed, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`, usage);
  return value;
}

/**
 * What a terminal must not get raw from a token: C0 and C1 controls and DEL (escape sequences that
 * draw a fake line or hide the real one; U+009B is a one-character CSI), line separators, format
 * characters (bidi marks, embeddings, overrides and isolates, which reorder what is shown: "Trojan
 * Source"; zero-width characters, the BOM, soft hyphens, tag characters), variation selectors and
 * the blank fillers and invisible vowels that make a value look like another, and unassigned code
 * points (which a later Unicode may make any of these).
 */
const UNSEEN = String.raw`\p{Cf}\p{Cn}\p{Zl}\p{Zp}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\uffa0\ufe00-\ufe0f\u{e0100}-\u{e01ef}`;
const UNSAFE = new RegExp(String.raw`[\p{Cc}${UNSEEN}]`, 'gu');

/** {@link UNSAFE} but C0 controls, which JSON.stringify escapes in strings (those left are its line breaks). */
const UNSAFE_BEYOND_C0 = new RegExp(String.raw`[\u007f-\u009f${UNSEEN}]`, 'gu');

const hex = (char: string, width: number) => char.codePointAt(0)!.toString(16).padStart(width, '0');

/** Text from a token, a key set or a server, made safe for a terminal: each {@link UNSAFE} character as `\xNN` / `\uNNNN`. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => (char.codePointAt(0)! < 0x100 ? `\\x${hex(char, 2)}` : char.codePointAt(0)! > 0xffff ? `\\u{${hex(char, 1)}}` : `\\u${hex(char, 4)}`));
}

/** `\uNNNN` for JSON: a character beyond U+FFFF as its surrogate pair, which JSON reads back as the same. */
function jsonEscape(char: string): string {
  return [...char].length === 1 && char.length === 2 ? `\\u${char.charCodeAt(0).toString(16)}\\u${char.charCodeAt(1).toString(16)}` : `\\u${hex(char, 4)}`;
}

/** The deepest nesting of a token's JSON that output shows; below it, a marker (no recursion can overflow). */
const MAX_SHOWN_DEPTH = 32;

/** `value` with what lies deeper than {@link MAX_SHOWN_DEPTH} replaced by a marker string. */
function bounded(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_SHOWN_DEPTH) return `(nested deeper than ${MAX_SHOWN_DEPTH} levels: not shown)`;
  if (Array.isArray(value)) return value.map((item) => bounded(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    // A "__proto__" member of the token is a plain property here too, never a prototype.
    Object.defineProperty(copy, name, { value: bounded((value as Record<string, unknown>)[name], depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/**
 * JSON of a token's header or claims (or a report holding them) for a terminal: nesting bounded,
 * and every {@link UNSAFE} character `JSON.stringify` leaves raw (DEL, C1, bidi) as `\uNNNN`: still
 * the same JSON to a parser.
 */
export function printableJson(value: unknown, indent?: number): string {
  // C0 controls inside strings JSON.stringify escapes itself; those left are the indentation's line breaks.
  return JSON.stringify(bounded(value), null, indent).replace(UNSAFE_BEYOND_C0, jsonEscape);
}

