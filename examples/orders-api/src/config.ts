/** Configuration from the environment (documented in the README). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PresetName } from '@scopeguard/core';

export interface ExampleConfig {
  /** Port of the API. `PORT`, default 3000 (0 picks a free one). */
  port: number;
  /** Port of the embedded authorization server. `AS_PORT`, default PORT + 1 (0 when PORT is 0). */
  asPort: number;
  /** An external issuer to trust instead of starting the embedded server. `ISSUER`. */
  issuer: string | undefined;
  /** The API's identifier, the token audience. `AUDIENCE`, default https://orders.example.com. */
  audience: string;
  /** The issuer's JWKS; discovered when absent. `JWKS_URI`. */
  jwksUri: string | undefined;
  /** Service users and their permissions. `PERMISSIONS_FILE`, default permissions.json. */
  permissions: Record<string, string[]>;
  permissionsFile: string;
  /** Claim layout of an external issuer: rfc9068, auth0, okta, entra, keycloak. `PRESET`. */
  preset: PresetName | undefined;
  /** Lifetime of tokens from the embedded server, seconds. `ACCESS_TOKEN_TTL`, default 600. */
  accessTokenTtl: number;
  /** Clock leeway of the API, seconds. `CLOCK_TOLERANCE`, default 5. */
  clockTolerance: number;
  /** The embedded server issues opaque tokens, which the API introspects (RFC 7662). `OPAQUE_TOKENS=1`. */
  opaqueTokens: boolean;
  /**
   * Redis shared by every instance (`REDIS_URL`, e.g. redis://127.0.0.1:6379): DPoP proofs used once
   * across instances, nonces required and accepted by all, revocations and inactive clients everywhere.
   */
  redisUrl: string | undefined;
  /**
   * The origin clients call (`PUBLIC_BASE_URL`, e.g. https://orders.example.com) when instances sit
   * behind a load balancer: DPoP proofs name it (`htu`), not each instance's own address.
   */
  publicBaseUrl: string | undefined;
}

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return value;
}

export function loadConfig(): ExampleConfig {
  const port = integer('PORT', 3000);
  const permissionsFile = process.env.PERMISSIONS_FILE ?? join(__dirname, '..', 'permissions.json');
  let permissions: Record<string, string[]>;
  try {
    permissions = JSON.parse(readFileSync(permissionsFile, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read PERMISSIONS_FILE ${permissionsFile}: ${(error as Error).message}`);
  }
  return {
    port,
    asPort: integer('AS_PORT', port === 0 ? 0 : port + 1),
    issuer: process.env.ISSUER || undefined,
    audience: process.env.AUDIENCE || 'https://orders.example.com',
    jwksUri: process.env.JWKS_URI || undefined,
    permissions,
    permissionsFile,
    preset: (process.env.PRESET || undefined) as PresetName | undefined,
    accessTokenTtl: integer('ACCESS_TOKEN_TTL', 600),
    clockTolerance: integer('CLOCK_TOLERANCE', 5),
    opaqueTokens: process.env.OPAQUE_TOKENS === '1',
    redisUrl: process.env.REDIS_URL || undefined,
    publicBaseUrl: process.env.PUBLIC_BASE_URL || undefined,
  };
}
