/**
 * Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` carries `x5t#S256` may only be
 * used over a connection authenticated with that very client certificate. The thumbprint comes from
 * the TLS socket, or, behind a TLS-terminating proxy, from a header that proxy sets (configured; the
 * proxy must strip it from client requests).
 */
import { InvalidTokenError } from '../http/errors';
import { nodeOnly } from '../keys/platform';
import { platform } from '../keys/platform';
import { fail, object, only } from '../pipeline/option-checks';

/** How certificate binding is enforced. */
export interface MtlsOptions {
  /** `bound` (default when configured): bound tokens need their certificate; `required`: every token must be bound. */
  mode?: 'bound' | 'required';
  /** A header set by a trusted TLS-terminating proxy with the client certificate (PEM, URL-encoded or not). */
  certificateHeader?: string;
}

/** SHA-256 thumbprint of a DER certificate, base64url (RFC 8705 §3.1). */
export function certificateThumbprint(der: Uint8Array): string {
  return nodeOnly('sha256Base64url', 'mTLS')(der);
}

/**
 * The DER bytes of a PEM certificate as proxies forward it (often URL-encoded); `undefined` if
 * unreadable, or if the value holds more than one certificate (which one the proxy vouches for is unknown).
 */
export function derFromPem(value: string): Uint8Array | undefined {
  try {
    const pem = value.includes('%') ? decodeURIComponent(value) : value;
    if (pem.split('-----BEGIN CERTIFICATE-----').length > 2) return undefined;
    return nodeOnly('certificateDer', 'mTLS')(pem.replace(/\\n/g, '\n'));
  } catch {
    return undefined;
  }
}

/**
 * Checks `claims.cnf` against the connection's certificate thumbprint.
 * @throws {@link InvalidTokenError} `ERR_TOKEN_BINDING`.
 */
export function confirmCertificateBinding(claims: Readonly<Record<string, unknown>>, thumbprint: string | undefined, mode: 'bound' | 'required'): void {
  const bound = (claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256'];
  if (bound === undefined) {
    if (mode === 'required') throw new InvalidTokenError('ERR_TOKEN_BINDING', 'this API accepts only certificate-bound tokens', { claim: 'cnf' });
    return;
  }
  if (thumbprint === undefined) {
    throw new InvalidTokenError('ERR_TOKEN_BINDING', 'the token is bound to a client certificate, and none was presented', { claim: 'cnf' });
  }
  if (bound !== thumbprint) {
    throw new InvalidTokenError('ERR_TOKEN_BINDING', 'the token is bound to another client certificate', { claim: 'cnf' });
  }
}

// ── Options ─────────────────────────────────────────────────────────────────────────────────

/** The `mtls` option after validation. */
export interface ResolvedMtls {
  readonly mode: 'bound' | 'required';
  readonly certificateHeader: string | undefined;
}

/** The `mtls` option, with defaults applied; refused where the runtime has no node:crypto. */
export function resolveMtls(value: unknown): ResolvedMtls | undefined {
  if (value === undefined) return undefined;
  const input = object('mtls', value);
  if (platform().certificateDer === undefined) fail('mtls', 'needs node:crypto, which this runtime does not offer');
  only('mtls', input, ['mode', 'certificateHeader']);
  const mode = input.mode ?? 'bound';
  if (mode !== 'bound' && mode !== 'required') fail('mtls.mode', 'must be "bound" or "required"');
  const header = input.certificateHeader;
  if (header !== undefined && (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header))) fail('mtls.certificateHeader', 'must be a header name');
  return Object.freeze({ mode, certificateHeader: header as string | undefined });
}
