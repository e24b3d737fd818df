/**
 * How a refusal names both sides for the operator (a refusal's `detail`, the log and the CLI): what
 * the token (or a discovery document) said, quoted safely, beside what the options say, with a hint
 * when the two are nearly the same ("a trailing slash differs"). The client's description stays
 * general; these lines are never sent to it.
 */

/** The most characters of an untrusted value a line shows. */
const MAX_SHOWN = 80;

/**
 * `value` quoted for a log line: a string in single quotes, anything else as JSON; every character
 * outside printable ASCII (newlines, ANSI escapes, bidi controls) as `\uXXXX`, and at most
 * {@link MAX_SHOWN} characters, then `...` (ASCII, as the whole line). A token's claims are the sender's words: they must not
 * forge a log line, colour a terminal or fill a disk.
 */
export function shown(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  const cut = text.length > MAX_SHOWN;
  const head = cut ? text.slice(0, MAX_SHOWN) : text;
  const escaped = head.replace(/[^\x20-\x7e]|'|\\/g, (char) => (char === "'" || char === '\\' ? `\\${char}` : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const body = `${escaped}${cut ? `... (${text.length} characters)` : ''}`;
  return typeof value === 'string' ? `'${body}'` : body;
}

/** Why two identifiers that differ look alike, when they do: the usual configuration slips. */
export function likeness(got: string, configured: string): string | undefined {
  if (got === `${configured}/` || configured === `${got}/`) return 'a trailing slash differs';
  if (got.toLowerCase() === configured.toLowerCase()) return 'only letter case differs (the comparison is exact)';
  const scheme = /^(https?):\/\//;
  if (scheme.test(got) && scheme.test(configured) && got.replace(scheme, '') === configured.replace(scheme, '')) return 'http and https differ';
  if (got.trim() === configured.trim()) return 'white space differs';
  return undefined;
}

/**
 * "token iss 'http://a' is not the configured 'http://a/' (a trailing slash differs)": `what` of the
 * token against the configured values, naming the nearest one's likeness. At most five configured
 * values are listed.
 */
export function mismatch(what: string, got: unknown, configured: readonly string[]): string {
  const hint = typeof got === 'string' ? configured.map((value) => likeness(got, value)).find((found) => found !== undefined) : undefined;
  const listed = configured.slice(0, 5).map(shown).join(', ') + (configured.length > 5 ? `, ... (${configured.length} in all)` : '');
  const against = configured.length === 1 ? `is not the configured ${listed}` : `is none of the configured ${listed}`;
  return `${what} ${shown(got)} ${against}${hint === undefined ? '' : ` (${hint})`}`;
}
