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
 * Text from a token, a key set or a server, made safe for a terminal: control characters (escape
 * sequences that could draw a fake line or hide the real one) are shown as `\xNN` / `\uNNNN`.
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (char) => {
    const code = char.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

