/**
 * The checks, the same on every server: each asks the server (through its handle, servers/*.mjs) for
 * the tokens it needs and says, per adapter, whether the guard answered as it should.
 *
 * A check may `prepare` once per server before any check runs (the expiry check mints its
 * short-lived token there, so the wait overlaps the other checks), then `run` once per adapter, one
 * adapter at a time: the rotation check changes the server's keys, and every key-set fetch recorded
 * in its window is then that adapter's.
 */
import { claimSummary, decodeJws, isJws, tamper } from './tokens.mjs';
import { watchJwks } from './jwks-watch.mjs';

/**
 * @typedef {import('./adapters.mjs').Adapter} Adapter
 * @typedef {import('./adapters.mjs').Reply} Reply
 * @typedef {{ ok: boolean, reason: string, ms?: number, evidence?: string[] }} Outcome
 * @typedef {{ skip: string }} Skip
 * @typedef {import('../servers/types.mjs').Running} Running
 * @typedef {{ server: Running, adapters: Adapter[], say: (line: string) => void, fact: (line: string) => void }} Context
 * @typedef {{ id: string, ids?: string[], prepare?: (ctx: Context) => Promise<any>, run: (ctx: Context, adapter: Adapter, prepared: any) => Promise<Outcome | Skip | Array<Outcome & { id: string }>> }} Check
 *   `ids`: the outcomes a check reports when it reports several (the rotation check: one per rotation).
 */

const ADMIT_WITHIN_MS = 2000;
const RETIRED_TRAFFIC_MS = 9000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** "401 ERR_TOKEN_SIGNATURE" and the like: what a reply was, for reasons. */
function shown(reply) {
  return `${reply.status}${reply.code ? ` ${reply.code}` : ''}`;
}

/** A refusal as RFC 6750 wants it for a bad token: 401 with `error="invalid_token"` in the challenge. */
function invalidToken(reply) {
  return reply.status === 401 && /error="invalid_token"/.test(reply.challenge ?? '');
}

/** @type {Check} */
const accepted = {
  id: 'accepted',
  async prepare({ server, fact }) {
    const token = await server.mint('worker');
    fact(`machine token (orders-worker): ${await server.describe(token)}`);
    return token;
  },
  async run(_ctx, adapter, token) {
    const read = await adapter.call('GET', token);
    const write = await adapter.call('POST', token);
    const ok = read.status === 200 && write.status === 200;
    return { ok, reason: `GET ${shown(read)}, POST ${shown(write)}`, ms: read.ms + write.ms };
  },
};

/** @type {Check} */
const insufficientScope = {
  id: 'reporter-403',
  async prepare({ server, fact }) {
    const token = await server.mint('reporter');
    fact(`orders-reporter's token: ${await server.describe(token)}`);
    return token;
  },
  async run(_ctx, adapter, token) {
    const read = await adapter.call('GET', token);
    const write = await adapter.call('POST', token);
    const scoped = /scope="orders\.write"/.test(write.challenge ?? '');
    const ok = read.status === 200 && write.status === 403 && scoped;
    return { ok, reason: `GET ${shown(read)}, POST ${shown(write)}${scoped ? ' scope="orders.write"' : ` challenge: ${write.challenge}`}`, ms: write.ms };
  },
};

/** @type {Check} */
const tampered = {
  id: 'tampered',
  async prepare({ server }) {
    return tamper(await server.mint('worker'));
  },
  async run(_ctx, adapter, token) {
    const reply = await adapter.call('GET', token);
    return { ok: invalidToken(reply), reason: `GET ${shown(reply)}`, ms: reply.ms };
  },
};

/**
 * A token that expires on the server (a short lifetime where the server can issue one), shown to
 * each adapter once while fresh (admitted) and again after exp + the guard's clock tolerance.
 * @type {Check}
 */
const expired = {
  id: 'expired',
  async prepare({ server, adapters }) {
    if (!server.mintShortLived) return { skip: server.why?.expired ?? 'the server cannot issue short-lived tokens' };
    const { token, expiresAt } = await server.mintShortLived();
    // Shown while fresh right away: by the time the check runs, the token has expired.
    const fresh = new Map();
    for (const adapter of adapters) fresh.set(adapter.name, await adapter.call('GET', token));
    return { token, expiresAt, fresh };
  },
  async run(_ctx, adapter, prepared) {
    if (prepared.skip) return prepared;
    const fresh = prepared.fresh.get(adapter.name);
    // exp, plus the guard's default 5 s clock tolerance, plus a second for a server's rounding.
    const wait = prepared.expiresAt + 6000 - Date.now();
    if (wait > 0) await sleep(wait);
    const late = await adapter.call('GET', prepared.token);
    const ok = fresh.status === 200 && invalidToken(late);
    return { ok, reason: `fresh GET ${shown(fresh)}, after exp GET ${shown(late)}`, ms: late.ms };
  },
};

/** @type {Check} */
const foreignAudience = {
  id: 'foreign-audience',
  async prepare({ server, fact }) {
    const token = await server.mint('foreign');
    fact(`another API's token (${server.foreignClient}): ${await server.describe(token)}`);
    return token;
  },
  async run(_ctx, adapter, token) {
    const reply = await adapter.call('GET', token);
    const detail = reply.decisions.findLast((event) => event.detail)?.detail;
    return { ok: invalidToken(reply), reason: `GET ${shown(reply)}${detail ? ` (${detail})` : ''}`, ms: reply.ms };
  },
};

/** @type {Check} */
const userToken = {
  id: 'user-token',
  async prepare({ server, fact }) {
    const token = await server.mint('user');
    fact(`user token (${server.userClient}, user dwho): ${await server.describe(token)}`);
    return token;
  },
  async run(_ctx, adapter, token) {
    const reply = await adapter.call('GET', token);
    const ok = invalidToken(reply) && reply.code === 'ERR_TOKEN_NOT_CLIENT';
    return { ok, reason: `GET ${shown(reply)}${ok ? '' : ', expected 401 ERR_TOKEN_NOT_CLIENT'}`, ms: reply.ms };
  },
};

/**
 * Opaque tokens through the `introspection` option: an active one admitted, and one the server
 * revoked (or, where it cannot revoke, a tampered one) refused as inactive.
 * @type {Check}
 */
const opaque = {
  id: 'opaque',
  async prepare({ server, fact }) {
    if (!server.mintOpaque) return { skip: server.why?.opaque ?? 'the server issues no opaque access tokens' };
    const token = await server.mintOpaque('worker');
    if (isJws(token)) throw new Error('the server answered a JWT where an opaque token was asked for');
    fact(`opaque machine token: ${await server.describe(token)}`);
    const dead = await server.mintOpaque('worker');
    const how = server.revoke ? 'revoked' : 'tampered';
    if (server.revoke) await server.revoke(dead);
    else return { token, dead: tamper(dead), how };
    return { token, dead, how };
  },
  async run(_ctx, adapter, prepared) {
    if (prepared.skip) return prepared;
    const live = await adapter.call('GET', prepared.token);
    const dead = await adapter.call('GET', prepared.dead);
    const ok = live.status === 200 && invalidToken(dead) && dead.code === 'ERR_TOKEN_INACTIVE';
    return { ok, reason: `active GET ${shown(live)}, ${prepared.how} GET ${shown(dead)}`, ms: live.ms };
  },
};

/**
 * Sends `token` until the adapter admits it; resolves with how long that took from `since`, or
 * undefined after `limitMs`. Each refused request is a real client's retry: it may trigger a refetch.
 */
async function timeUntilAdmitted(adapter, token, since, limitMs) {
  while (Date.now() - since < limitMs) {
    const reply = await adapter.call('GET', token);
    if (reply.status === 200) return Date.now() - since;
    if (reply.status !== 401 && reply.status !== 503) throw new Error(`unexpected ${shown(reply)} while waiting for the new key`);
    await sleep(50);
  }
  return undefined;
}

/**
 * Sends `token` every 200 ms until `until()` says stop, as a client still holding an old token
 * would; resolves with how many requests got which answer ("45 × 401 ERR_TOKEN_KEY_NOT_FOUND").
 */
async function keepSending(adapter, token, until) {
  const answers = new Map();
  while (!until()) {
    const reply = await adapter.call('GET', token);
    answers.set(shown(reply), (answers.get(shown(reply)) ?? 0) + 1);
    await sleep(200);
  }
  const sent = [...answers.values()].reduce((sum, count) => sum + count, 0);
  return { sent, answers: [...answers].map(([answer, count]) => `${count} × ${answer}`).join(', ') };
}

/** One line per key-set fetch in [from, to]: seconds after `from`, status, kids, caching headers. */
function fetchEvidence(fetches, from, to, kids) {
  return fetches
    .filter((entry) => entry.at >= from && entry.at <= to)
    .map((entry) => {
      const names = entry.kids.map((kid) => kids.get(kid) ?? kid).join(',');
      const headers = [entry.cacheControl && `cache-control: ${entry.cacheControl}`, entry.expires && `expires: ${entry.expires}`, entry.etag && `etag: ${entry.etag}`]
        .filter(Boolean).join('; ') || 'no caching headers';
      return `+${((entry.at - from) / 1000).toFixed(2)} s JWKS fetch: ${entry.status} [${names}] (${headers})`;
    });
}

/**
 * Two rotations with no overlap, per adapter. The first: the new key's token must be admitted
 * within 2 s. The second comes while a client keeps sending a token of the retired key (~9 s), as
 * a fleet whose instances rotate their cached tokens slowly does; the newest key's token must
 * still be admitted within 2 s. Every key-set fetch of the adapter's engine is recorded as evidence.
 * @type {Check}
 */
const rotation = {
  id: 'rotation',
  ids: ['rotation-1', 'rotation-2'],
  async prepare({ server }) {
    if (!server.rotate) return { skip: server.why?.rotation ?? 'the server has no signing keys to rotate' };
    return { fetches: watchJwks(/** @type {string} */ (server.jwksUri)) };
  },
  async run({ server }, adapter, prepared) {
    if (prepared.skip) return prepared;
    /** kid → K0, K1, K2: readable evidence */
    const kids = new Map();
    const name = (kid) => { if (!kids.has(kid)) kids.set(kid, `K${kids.size}`); return kids.get(kid); };
    const before = await server.mint('worker');
    name(decodeJws(before).header.kid);
    const warm = await adapter.call('GET', before);
    if (warm.status !== 200) return { ok: false, reason: `the current key's token was refused before any rotation: ${shown(warm)}` };
    // Warming may itself have refetched (this adapter last saw an older key): let the guard's 1 s
    // minimum between refetches pass, so rotation 1 times a guard that fetched nothing lately.
    await sleep(1100);

    const first = await server.rotate();
    name(first.kid);
    const t1 = Date.now();
    const token1 = await server.mint('worker');
    const r1 = await timeUntilAdmitted(adapter, token1, t1, 15_000);

    // Clients still holding the retired key's token keep calling; the second rotation lands while they do.
    let stop = false;
    const retired = keepSending(adapter, before, () => stop);
    let second, t2, r2;
    try {
      await sleep(RETIRED_TRAFFIC_MS);
      second = await server.rotate();
      name(second.kid);
      t2 = Date.now();
      r2 = await timeUntilAdmitted(adapter, await server.mint('worker'), t2, 20_000);
    } finally {
      stop = true;
    }
    const { sent, answers } = await retired;
    const evidence = [
      `server: rotation 1 to ${name(first.kid)} at +0.00 s (its own JWKS listed it ${first.publishedMs} ms after the change was made)`,
      `server: rotation 2 to ${name(second.kid)} at +${((t2 - t1) / 1000).toFixed(2)} s (listed after ${second.publishedMs} ms)`,
      `the retired key's token (${name(decodeJws(before).header.kid)}) meanwhile: ${answers}`,
      ...fetchEvidence(prepared.fetches, t1 - 200, Date.now(), kids),
    ];
    const within = (ms) => ms !== undefined && ms < ADMIT_WITHIN_MS;
    return [
      { id: 'rotation-1', ok: within(r1), reason: `${name(first.kid)}'s token admitted after ${r1 ?? '>15000'} ms (limit ${ADMIT_WITHIN_MS})`, ms: r1 },
      {
        id: 'rotation-2',
        ok: within(r2),
        reason: `${name(second.kid)}'s token admitted after ${r2 ?? '>20000'} ms (limit ${ADMIT_WITHIN_MS}), rotated at +${((t2 - t1) / 1000).toFixed(1)} s while ${sent} requests carried the retired key`,
        ms: r2,
        evidence,
      },
    ];
  },
};

/** @type {Check[]} */
export const CHECKS = [accepted, insufficientScope, tampered, expired, foreignAudience, userToken, opaque, rotation];

/** Used in the summary of facts for a token: decoded claims of a JWT. */
export function describeJws(token) {
  const { header, claims } = decodeJws(token);
  return `JWT typ=${header.typ ?? '(none)'} alg=${header.alg} kid=${header.kid ?? '(none)'}; ${claimSummary(claims)}`;
}
