import { Scopeguard, ScopeguardConfigError, type ScopeguardOptions } from '@scopeguard/core';
import { resolveOptions } from '@scopeguard/core/adapter';

const base: ScopeguardOptions = { issuer: 'https://as.example.com/', audience: 'https://api.example.com' };

function optionAtFault(options: unknown): string | undefined {
  try {
    resolveOptions(options as ScopeguardOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeguardConfigError);
    return (error as ScopeguardConfigError).option;
  }
  return undefined;
}

describe('options', () => {
  it('applies safe defaults', () => {
    const options = resolveOptions(base);
    const [entry] = options.issuers;
    expect(entry!.algorithms).toEqual(['RS256']);
    expect(entry!.clockTolerance).toBe(5);
    expect(entry!.strict).toBe(false);
    expect([...options.tokenSources]).toEqual(['header']);
    expect(options.maxTokenLength).toBe(8192);
    expect(options.realm).toBe('https://api.example.com');
    expect(options.tokenCache).toEqual({ maxEntries: 10000, maxBytes: 32 * 1024 * 1024 });
  });

  it.each([
    [{ ...base, issuer: undefined }, 'issuer'],
    [{ ...base, issuer: 'not a url' }, 'issuer'],
    [{ ...base, audience: [] }, 'audience'],
    [{ ...base, audience: undefined }, 'audience'],
    [{ ...base, algorithms: ['none'] }, 'algorithms'],
    [{ ...base, algorithms: ['NONE'] }, 'algorithms'],
    [{ ...base, algorithms: ['HS256'] }, 'algorithms'],
    [{ ...base, algorithms: ['RS1'] }, 'algorithms'],
    [{ ...base, clockTolerance: -1 }, 'clockTolerance'],
    [{ ...base, jwksUri: 'ftp://x' }, 'jwksUri'],
    [{ ...base, issuer: ['https://a', 'https://b'] }, 'jwksUri'],
    [{ ...base, tokenSources: ['cookie'] }, 'tokenSources'],
    [{ ...base, realm: 'a"b' }, 'realm'],
    [{ ...base, preset: 'google' }, 'preset'],
    [{ ...base, permissions: { worker: 'orders.read' } }, 'permissions.worker'],
    [{ ...base, scopeMap: { 'a b': ['x'] } }, 'scopeMap'],
    [{ ...base, jwks: { timeout: 5 } }, 'jwks.timeout'],
    [{ ...base, audiance: 'x' }, 'audiance'],
    [{ ...base, maxTokenLength: 1.5 }, 'maxTokenLength'],
  ])('names the wrong option (%#: %s)', (options, option) => {
    expect(optionAtFault(options)).toBe(option);
  });

  it('throws at construction, not at the first request', () => {
    expect(() => new Scopeguard({ ...base, algorithms: ['HS256' as 'RS256'] })).toThrow(/algorithms/);
  });
});

describe('an option typo', () => {
  const messageOf = (options: unknown): string => {
    try {
      resolveOptions(options as ScopeguardOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ScopeguardConfigError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('suggests the option meant', () => {
    expect(messageOf({ issuer: 'https://as.example.com/', audiance: 'https://api.example.com' })).toBe(
      'scopeguard: option "audiance" is not a known option; did you mean "audience"?',
    );
    expect(messageOf({ ...base, jwksURI: 'https://as.example.com/jwks' })).toMatch(/did you mean "jwksUri"\?$/);
    expect(messageOf({ ...base, permisions: 'token' })).toMatch(/did you mean "permissions"\?$/);
    expect(messageOf({ ...base, tokenCache: { maxEntry: 5 } })).toMatch(/"tokenCache.maxEntry" is not a known option; did you mean "maxEntries"\?$/);
    expect(messageOf({ issuers: [{ issuer: 'https://as.example.com/', audince: 'x' }] })).toMatch(/did you mean "audience"\?$/);
  });

  it('suggests nothing for a name far from every option', () => {
    expect(messageOf({ ...base, frobnicate: 1 })).toBe('scopeguard: option "frobnicate" is not a known option');
  });
});

describe('an option of another layer', () => {
  const messageOf = (options: unknown): string => {
    try {
      resolveOptions(options as ScopeguardOptions);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('global: says where it belongs instead of suggesting itself', () => {
    const message = messageOf({ ...base, global: true });
    expect(message).toMatch(/^scopeguard: option "global" is not an engine option: on Nest, pass global: true to ScopeguardModule\.forRoot\(\) or forRootAsync\(\) itself/);
    expect(message).not.toContain('did you mean');
  });

  it('logger and auditLog given to an engine built by hand: says how to log from it', () => {
    expect(messageOf({ ...base, logger: console })).toMatch(/"logger" is an adapter option .*engine\.logTo\(logger\)/);
    expect(messageOf({ ...base, auditLog: true })).toMatch(/"auditLog" is an adapter option .*onDecision/);
  });
});

describe('several mistakes at once', () => {
  // Found by review of issue 28's move of each feature's options beside it: the option named first
  // must stay the one named before the move (shapes of jwks and the lookups before the other checks).
  it.each([
    [{ jwks: { bogus: 1 }, clockTolerance: -1 }, 'jwks.bogus'],
    [{ jwks: 'x', isRevoked: 1 }, 'jwks'],
    [{ permissionLookup: { tll: 5 }, requireClientCredentials: 'yes' }, 'permissionLookup.tll'],
    [{ jwks: { bogus: 1 }, scopeMap: { 'a b': [] } }, 'jwks.bogus'],
    [{ revocationLookup: { x: 1 }, maxTokenAge: 0 }, 'revocationLookup.x'],
  ])('%j names %s first', (mistakes, option) => {
    expect(optionAtFault({ ...base, ...mistakes })).toBe(option);
  });
});
