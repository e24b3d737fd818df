/**
 * What the suite sends to authorization servers: token requests (form bodies, HTTP Basic client
 * authentication), admin-API JSON, and a cookie jar for the login flows that need a browser session.
 * Redirects are never followed: the flows read their `Location` themselves.
 */

const TIMEOUT_MS = 15_000;
/**
 * The suite's own requests use fetch as it was when this module loaded, before jwks-watch.mjs wraps
 * the global one: only the guards' key-set fetches are recorded as rotation evidence.
 */
const suiteFetch = globalThis.fetch;

/** RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they are joined for Basic. */
export function basic(clientId, secret) {
  const encoded = `${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`;
  return `Basic ${Buffer.from(encoded).toString('base64')}`;
}

/** A minimal cookie jar: name=value pairs from Set-Cookie, sent back on every request it is given to. */
export class CookieJar {
  /** @type {Map<string, string>} */
  #cookies = new Map();

  /** @param {Response} response */
  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      if (at > 0) this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * @typedef {{ status: number, headers: Headers, text: string, json: any }} Answer
 * @typedef {{ method?: string, headers?: Record<string, string>, form?: Record<string, string | undefined>, json?: unknown, jar?: CookieJar }} Ask
 */

/**
 * One request; the body is parsed as JSON when it is JSON.
 * @param {string} url
 * @param {Ask} [ask]
 * @returns {Promise<Answer>}
 */
export async function request(url, { method, headers = {}, form, json, jar } = {}) {
  /** @type {Record<string, string>} */
  const sent = { ...headers };
  let body;
  if (form) {
    const fields = Object.entries(form).filter((entry) => entry[1] !== undefined);
    body = new URLSearchParams(/** @type {[string, string][]} */ (fields)).toString();
    sent['content-type'] = 'application/x-www-form-urlencoded';
  } else if (json !== undefined) {
    body = JSON.stringify(json);
    sent['content-type'] = 'application/json';
  }
  if (jar) sent.cookie = jar.header();
  const response = await suiteFetch(url, { method: method ?? (body === undefined ? 'GET' : 'POST'), headers: sent, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  jar?.take(response);
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: parsed };
}

/**
 * A token endpoint's access token, or an error naming what the server answered.
 * @param {string} endpoint
 * @param {Record<string, string | undefined>} form
 * @param {{ clientId: string, secret: string } | undefined} client HTTP Basic, when given
 * @param {CookieJar} [jar]
 * @returns {Promise<{ token: string, answer: any }>}
 */
export async function tokenRequest(endpoint, form, client, jar) {
  const headers = client ? { authorization: basic(client.clientId, client.secret) } : {};
  const answer = await request(endpoint, { form, headers, jar });
  const token = answer.json?.access_token;
  if (answer.status !== 200 || typeof token !== 'string') {
    throw new Error(`token request (${form.grant_type}) answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return { token, answer: answer.json };
}
