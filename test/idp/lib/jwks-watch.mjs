/**
 * Evidence for the rotation checks: every fetch of a watched key-set URL made in this process (the
 * guards' engines call the global `fetch`), with when it was made, what the server answered (status,
 * caching headers) and which `kid`s it held. The engine's own fetch is passed through untouched: the
 * body is read from a clone.
 */

/** @typedef {{ at: number, url: string, status: number, kids: string[], cacheControl: string | null, expires: string | null, etag: string | null, lastModified: string | null, age: string | null }} JwksFetch */

/** @type {Map<string, JwksFetch[]>} */
const watched = new Map();
const original = globalThis.fetch;
let installed = false;

/** Starts recording fetches of `url`; returns the (live) list they are recorded in. */
export function watchJwks(url) {
  install();
  const list = watched.get(url) ?? [];
  watched.set(url, list);
  return list;
}

function install() {
  if (installed) return;
  installed = true;
  globalThis.fetch = async function recordingFetch(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const list = watched.get(url);
    const response = await original(input, init);
    if (list) void record(list, url, response.clone());
    return response;
  };
}

async function record(list, url, response) {
  /** @type {JwksFetch} */
  const entry = {
    at: Date.now(),
    url,
    status: response.status,
    kids: [],
    cacheControl: response.headers.get('cache-control'),
    expires: response.headers.get('expires'),
    etag: response.headers.get('etag'),
    lastModified: response.headers.get('last-modified'),
    age: response.headers.get('age'),
  };
  list.push(entry);
  try {
    const document = await response.json();
    entry.kids = Array.isArray(document?.keys) ? document.keys.map((key) => String(key?.kid)) : [];
  } catch {
    // Not JSON: the status says enough.
  }
}

/** The caching headers of one answer, as one phrase ("none" when it sends none of them). */
export function cachingHeaders(headers) {
  const shown = ['cache-control', 'expires', 'etag', 'last-modified', 'age']
    .map((name) => [name, headers.get(name)])
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return shown.length > 0 ? shown.join('; ') : 'no Cache-Control, Expires, ETag or Last-Modified';
}
