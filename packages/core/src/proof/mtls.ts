/**
 * Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` carries `x5t#S256` may only be
 * used over a connection authenticated with that very client certificate. The thumbprint comes from
 * the TLS socket, or, behind a TLS-terminating proxy, from a header that proxy sets (configured; the
 * proxy must strip it from client requests).
 */
import { InvalidTokenError } from '../http/errors';
import { nodeOnly } from '../keys/platform';

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
