/**
 * A client-credentials client (RFC 6749 §4.4) as a background service would use it: it gets a
 * token from the token endpoint, keeps it until shortly before it expires, and calls the API.
 * Plain `fetch`, nothing else: this is all a machine client needs.
 */

export interface ClientCredentialsOptions {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** `client_secret_basic` (HTTP Basic, default) or `client_secret_post` (form fields). */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  scope?: string;
  /** RFC 8707 resource indicator: the API the token is for. */
  resource?: string;
  /** Renew this many seconds before expiry. Default 30. */
  renewBeforeSeconds?: number;
}

/** The token endpoint refused (invalid_client, invalid_scope, …). */
export class TokenRequestError extends Error {
  constructor(readonly status: number, readonly error: string, description: string | undefined) {
    super(`token endpoint answered ${status} ${error}${description ? `: ${description}` : ''}`);
    this.name = 'TokenRequestError';
  }
}

export class ClientCredentialsClient {
  #token: { value: string; renewAt: number } | undefined;
  #pending: Promise<string> | undefined;
  /** How many times the token endpoint was called. */
  tokenRequests = 0;

  constructor(private readonly options: ClientCredentialsOptions) {}

  /** A valid access token, from cache while it has more than `renewBeforeSeconds` to live. */
  async accessToken(): Promise<string> {
    if (this.#token && Date.now() < this.#token.renewAt) return this.#token.value;
    // Concurrent callers share one token request.
    this.#pending ??= this.#request().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** `fetch` with `Authorization: Bearer <token>`. */
  async call(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${await this.accessToken()}`);
    return fetch(url, { ...init, headers });
  }

  async #request(): Promise<string> {
    const { tokenEndpoint, clientId, clientSecret, authMethod = 'client_secret_basic', scope, resource } = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    if (resource) form.set('resource', resource);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (authMethod === 'client_secret_basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
      const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    this.tokenRequests++;
    const response = await fetch(tokenEndpoint, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(10_000) });
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new TokenRequestError(response.status, body.error ?? 'invalid_response', body.error_description);
    }
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 60;
    const renewBefore = Math.min(this.options.renewBeforeSeconds ?? 30, lifetime / 2);
    this.#token = { value: body.access_token, renewAt: Date.now() + (lifetime - renewBefore) * 1000 };
    return body.access_token;
  }
}
