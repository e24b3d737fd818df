/**
 * Reading and damaging tokens, for the report and the tampered check. Nothing here verifies anything:
 * that is the guard's job.
 */

/** Whether the token is a compact JWS (three base64url segments); anything else the guard introspects. */
export function isJws(token) {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/** Header and claims of a JWS, decoded without any check. */
export function decodeJws(token) {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
  };
}

/**
 * The token with one character of its payload changed. For a JWS the change is made in the decoded
 * JSON (the last digit of `exp`, what an attacker would stretch), so the result still parses and
 * the guard has to refuse it on its signature; for an opaque token the last character is changed.
 */
export function tamper(token) {
  if (!isJws(token)) {
    const last = token.at(-1);
    return token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
  }
  const [header, payload, signature] = token.split('.');
  const json = Buffer.from(payload, 'base64url').toString('utf8');
  const at = json.search(/"exp"\s*:\s*\d+/);
  if (at < 0) throw new Error('the token has no exp to tamper with');
  const digits = /\d+/.exec(json.slice(at + 5));
  const end = at + 5 + /** @type {RegExpExecArray} */ (digits).index + /** @type {RegExpExecArray} */ (digits)[0].length - 1;
  const changed = json.slice(0, end) + (json[end] === '9' ? '8' : String(Number(json[end]) + 1)) + json.slice(end + 1);
  return `${header}.${Buffer.from(changed, 'utf8').toString('base64url')}.${signature}`;
}

/** The claims that tell a machine token from a user token, for the report (values shortened). */
export function claimSummary(claims, names = ['iss', 'aud', 'sub', 'client_id', 'azp', 'scope', 'typ', 'gty', 'username', 'type']) {
  const shown = [];
  for (const name of names) {
    if (claims[name] === undefined) continue;
    const value = typeof claims[name] === 'string' ? claims[name] : JSON.stringify(claims[name]);
    shown.push(`${name}=${value.length > 80 ? `${value.slice(0, 77)}…` : value}`);
  }
  return shown.join(' ');
}
