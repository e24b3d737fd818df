import { InsufficientScopeError, InvalidTokenError, MissingTokenError, UnavailableError, sanitizeDescription } from '@scopeguard/core/adapter';

describe('errors (RFC 6750 §3)', () => {
  it('renders a 401 invalid_token challenge and JSON body with the same code', () => {
    const error = new InvalidTokenError('ERR_TOKEN_EXPIRED', 'the token has expired');
    expect(error.toResponse({ realm: 'orders' })).toEqual({
      status: 401,
      headers: {
        'Cache-Control': 'no-store',
        'WWW-Authenticate': 'Bearer realm="orders", error="invalid_token", error_description="the token has expired"',
      },
      body: { error: 'invalid_token', error_description: 'the token has expired' },
    });
  });

  it('renders a 403 with the required scopes', () => {
    const response = new InsufficientScopeError(['orders.read', 'orders.write']).toResponse({ realm: 'r' });
    expect(response.status).toBe(403);
    expect(response.headers['WWW-Authenticate']).toBe(
      'Bearer realm="r", error="insufficient_scope", error_description="the token does not grant the scopes this resource requires", scope="orders.read orders.write"',
    );
  });

  it('renders a bare challenge for a missing token, with or without realm', () => {
    expect(new MissingTokenError().challenge({ realm: 'r' })).toBe('Bearer realm="r"');
    expect(new MissingTokenError().challenge()).toBe('Bearer');
    expect(new MissingTokenError().toResponse().body).toEqual({ error_description: 'no bearer token in the request' });
  });

  it('sends no challenge but Retry-After on a 503', () => {
    const response = new UnavailableError('ERR_KEYS_UNAVAILABLE', 'keys down').toResponse({ realm: 'r' });
    expect(response.status).toBe(503);
    expect(response.headers['WWW-Authenticate']).toBeUndefined();
    expect(response.headers['Retry-After']).toBe('5');
    expect(response.body.error).toBe('temporarily_unavailable');
  });

  it('sanitises descriptions: no quotes, backslashes, CR/LF or non-ASCII', () => {
    expect(sanitizeDescription('a"b\\c\r\nd\u00e9')).toBe('a b c  d ');
    expect(sanitizeDescription('x'.repeat(500))).toHaveLength(200);
    const error = new InvalidTokenError('ERR_TOKEN_CLAIM', 'bad "iss"\r\nSet-Cookie: x');
    expect(error.challenge({ realm: 'r' })).not.toMatch(/[\r\n]/);
    expect(error.challenge({ realm: 'r' })).toContain('error_description="bad  iss   Set-Cookie: x"');
  });
});
