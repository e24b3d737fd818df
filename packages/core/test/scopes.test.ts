import { requireAnyScope, requireScopes, scopeRequirement, ScopeguardConfigError } from '@scopeguard/core';
import { effectivePermissions, parseScopeClaim, scopesFromClaims, InsufficientScopeError } from '@scopeguard/core/adapter';
import { tokenScopes } from '../src/pipeline/scopes';

describe('scopes', () => {
  it('parses space-delimited strings and arrays, dropping non scope-tokens', () => {
    expect(parseScopeClaim('a  b c')).toEqual(['a', 'b', 'c']);
    expect(parseScopeClaim(['a', 1, 'b c', 'd'])).toEqual(['a', 'd']);
    expect(parseScopeClaim(42)).toEqual([]);
  });

  it('matches exactly: read never satisfies read:all, case matters', () => {
    expect(() => requireScopes({ permissions: ['read'] }, ['read:all'])).toThrow(InsufficientScopeError);
    expect(() => requireScopes({ permissions: ['Orders.Read'] }, ['orders.read'])).toThrow(InsufficientScopeError);
    expect(() => requireScopes({ permissions: ['read:all'] }, ['read'])).toThrow(InsufficientScopeError);
  });

  it('all-of and any-of', () => {
    expect(() => requireScopes({ permissions: ['a', 'b'] }, ['a', 'b'])).not.toThrow();
    expect(() => requireScopes({ permissions: ['a'] }, ['a', 'b'])).toThrow(InsufficientScopeError);
    expect(() => requireAnyScope({ permissions: ['b'] }, ['a', 'b'])).not.toThrow();
    expect(() => requireAnyScope({ permissions: ['c'] }, ['a', 'b'])).toThrow(InsufficientScopeError);
  });

  it('treats an empty or invalid requirement as a programming error', () => {
    expect(() => scopeRequirement('all', [])).toThrow(ScopeguardConfigError);
    expect(() => scopeRequirement('all', ['a b'])).toThrow(ScopeguardConfigError);
    expect(() => scopeRequirement('any', ['a"'])).toThrow(ScopeguardConfigError);
  });

  it('intersects expanded scopes with held permissions', () => {
    expect(effectivePermissions(['a', 'b'], undefined, undefined)).toEqual(['a', 'b']);
    expect(effectivePermissions(['a', 'b'], new Set(['b', 'c']), undefined)).toEqual(['b']);
    const scopeMap = new Map([['orders.manage', ['orders.read', 'orders.write']]]);
    expect(effectivePermissions(['orders.manage'], new Set(['orders.read']), scopeMap)).toEqual(['orders.read']);
    expect(effectivePermissions(['orders.manage'], undefined, scopeMap)).toEqual(['orders.read', 'orders.write']);
  });
});

describe('scopesFromClaims', () => {
  it('keeps each scope once, in first-seen order, however many there are', () => {
    const many = Array.from({ length: 40 }, (_, i) => `s${i % 25}`);
    expect(scopesFromClaims({ scope: many.join(' ') }, ['scope'])).toEqual(Array.from({ length: 25 }, (_, i) => `s${i}`));
    expect(scopesFromClaims({ scope: 'a b a', scp: ['b', 'c', 'a'] }, ['scope', 'scp'])).toEqual(['a', 'b', 'c']);
    expect(scopesFromClaims({ scope: 'https://api/x https://api/x https://other/y z' }, ['scope'], ['https://api/'])).toEqual(['x']);
  });
});

describe('tokenScopes (a verified token\'s scopes, frozen, read once per distinct string)', () => {
  it('shares one frozen list among tokens with the same scope string, and reads every other shape as scopesFromClaims does', () => {
    const one = tokenScopes({ scope: 'b a b' }, ['scope']);
    expect(one).toEqual(['b', 'a']);
    expect(Object.isFrozen(one)).toBe(true);
    // A new string of the same text (as each token's JSON.parse makes) finds the same list.
    expect(tokenScopes({ scope: JSON.parse('"b a b"') as string }, ['scope'])).toBe(one);
    expect(tokenScopes({ scope: 'b  a' }, ['scope'])).toEqual(['b', 'a']);
    // The presets name several claims; one present is the usual case, and is remembered too.
    expect(tokenScopes({ scope: 'b a b' }, ['scope', 'scp'])).toBe(one);
    expect(tokenScopes({ scope: 'b a b', scp: ['c', 'a'] }, ['scope', 'scp'])).toEqual(['b', 'a', 'c']);
    expect(tokenScopes({ scope: ['x', 'x', 'y'] }, ['scope'])).toEqual(['x', 'y']);
    expect(tokenScopes({ scp: 'p', roles: ['q', 'p'] }, ['scp', 'roles'])).toEqual(['p', 'q']);
    expect(tokenScopes({ scope: 'https://api.example.com/read other' }, ['scope'], ['https://api.example.com/'])).toEqual(['read']);
    expect(tokenScopes({ scope: 42 }, ['scope'])).toEqual([]);
    const long = `${'s'.repeat(1100)} t`;
    expect(tokenScopes({ scope: long }, ['scope'])).toEqual(['s'.repeat(1100), 't']);
  });

  it('stays right after its memory starts over, for every distinct string', () => {
    for (let i = 0; i < 200; i++) expect(tokenScopes({ scope: `read:${i} write:${i}` }, ['scope'])).toEqual([`read:${i}`, `write:${i}`]);
    for (let i = 0; i < 200; i++) expect(tokenScopes({ scope: `read:${i} write:${i}` }, ['scope'])).toEqual([`read:${i}`, `write:${i}`]);
  });
});
