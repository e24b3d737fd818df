/**
 * RFC 8725 §3.x / RFC 7515 §4: a JOSE header or claims set with duplicate member names is
 * ambiguous (parsers disagree on which value wins), so it is refused rather than read "last wins"
 * as `JSON.parse` does. Only call it on text that `JSON.parse` accepted: it scans member names and
 * relies on the text being well formed (it still never reads past the end).
 */
export function hasDuplicateMembers(json: string): boolean {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === '"') {
      let end = i + 1;
      while (end < json.length && json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (end >= json.length) return false;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        // Compare decoded names: "a" and "\u0061" are the same member.
        const name = JSON.parse(json.slice(i, end + 1)) as string;
        if (top.has(name)) return true;
        top.add(name);
        expectKey = false;
      }
      i = end;
    } else if (char === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      stack.push(null);
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return false;
}
