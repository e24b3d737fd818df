/**
 * RFC 8725 §3.x / RFC 7515 §4: a JOSE header or claims set with duplicate member names is
 * ambiguous (parsers disagree on which value wins), so it is refused rather than read "last wins"
 * as `JSON.parse` does. Only call it on text that `JSON.parse` accepted: it relies on the text
 * being well formed, and still never reads past the end.
 */
export function hasDuplicateMembers(json: string): boolean {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  let i = 0;
  while (i < json.length) {
    const quote = json.indexOf('"', i);
    // Structure lives only between strings: walk that gap, jump over string contents.
    const gapEnd = quote === -1 ? json.length : quote;
    for (let j = i; j < gapEnd; j++) {
      const char = json.charCodeAt(j);
      if (char === 0x7b /* { */) {
        stack.push(new Set());
        expectKey = true;
      } else if (char === 0x5b /* [ */) stack.push(null);
      else if (char === 0x7d /* } */ || char === 0x5d /* ] */) stack.pop();
      else if (char === 0x2c /* , */) expectKey = stack[stack.length - 1] != null;
    }
    if (quote === -1) return false;
    let end = json.indexOf('"', quote + 1);
    let escaped = false;
    // A quote preceded by an odd number of backslashes is part of the string.
    while (end !== -1) {
      let backslashes = 0;
      for (let k = end - 1; json.charCodeAt(k) === 0x5c; k--) backslashes++;
      if (backslashes % 2 === 0) break;
      escaped = true;
      end = json.indexOf('"', end + 1);
    }
    if (end === -1) return false;
    const top = stack[stack.length - 1];
    if (expectKey && top) {
      const raw = json.slice(quote + 1, end);
      // Compare decoded names: "a" and "\u0061" are the same member.
      const name = escaped || raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      if (top.has(name)) return true;
      top.add(name);
      expectKey = false;
    }
    i = end + 1;
  }
  return false;
}
