import { randomBytes } from 'node:crypto';
import { VerifiedTokenCache, type CacheableVerdict } from '../src/pipeline/verdict-cache';

const ALWAYS = { isCurrent: () => true };
const verdict = (): CacheableVerdict => ({ notAfter: Number.MAX_SAFE_INTEGER, keyId: 'k', keySet: ALWAYS });
/** A token of an RS256 signature's shape: 342 base64url characters after two segments. */
const token = () => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.${randomBytes(256).toString('base64url')}`;
const cache = () => new VerifiedTokenCache<CacheableVerdict>({ maxEntries: 100_000, maxBytes: 1024 ** 3 });

describe('the verified-token cache and its doorkeeper', () => {
  it('keeps a verdict on its second offer, not its first', () => {
    const held = cache();
    const t = token();
    held.offer(t, verdict());
    expect(held.get(t, 0)).toBeUndefined();
    const second = verdict();
    held.offer(t, second);
    expect(held.get(t, 0)).toBe(second);
    expect(held.has(t)).toBe(true);
  });

  it('never fills with one-off tokens, however many', () => {
    const held = cache();
    for (let i = 0; i < 20_000; i++) held.offer(token(), verdict());
    // Collisions of 30-bit fingerprints (4 096 held) may let a handful in; a stream never fills it.
    expect(held.size).toBeLessThan(5);
  });

  it('remembers a first sight across the 4 095 first sights after it, then starts over', () => {
    const held = cache();
    const first = token();
    held.offer(first, verdict());
    for (let i = 0; i < 4094; i++) held.offer(token(), verdict());
    held.offer(first, verdict());
    expect(held.has(first)).toBe(true);

    const forgotten = token();
    held.offer(forgotten, verdict());
    for (let i = 0; i < 4096; i++) held.offer(token(), verdict());
    held.offer(forgotten, verdict());
    expect(held.has(forgotten)).toBe(false);
  });

  it('admits every token seen twice in a row, however many were admitted before (their slots are not reused)', () => {
    const held = cache();
    // 12 288 tokens admitted: three times the first sights the doorkeeper records before it starts over.
    for (let i = 0; i < 12_288; i++) {
      const t = token();
      held.offer(t, verdict());
      held.offer(t, verdict());
      if (!held.has(t)) throw new Error(`token ${i} was not admitted on its second sight`);
    }
    expect(held.size).toBe(12_288);
  });

  it('counts only first sights still waiting: tokens admitted meanwhile do not make it forget one sooner', () => {
    const held = cache();
    const waiting = token();
    held.offer(waiting, verdict());
    // 4 096 other tokens admitted (each seen twice) while `waiting` waits for its second sight.
    for (let i = 0; i < 4096; i++) {
      const t = token();
      held.offer(t, verdict());
      held.offer(t, verdict());
    }
    held.offer(waiting, verdict());
    expect(held.has(waiting)).toBe(true);
  });

  it('tells apart tokens that differ in any one of the characters it hashes, the last included', () => {
    const base = token();
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let admitted = 0;
    for (let back = 1; back <= 12; back++) {
      const at = base.length - back;
      for (const letter of letters) {
        if (letter === base[at]) continue;
        const held = new VerifiedTokenCache<CacheableVerdict>({ maxEntries: 4, maxBytes: 1024 ** 2 });
        held.offer(base, verdict());
        const other = `${base.slice(0, at)}${letter}${base.slice(at + 1)}`;
        held.offer(other, verdict());
        if (held.has(other)) admitted++;
      }
    }
    expect(admitted).toBe(0);
  });
});
