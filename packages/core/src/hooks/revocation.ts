/**
 * Revoked tokens: a JWT is valid until `exp` by itself, so an API that must honour revocation before
 * then asks the app (`isRevoked`: a deny list, a session store). Answers are cached per token for
 * `revocationLookup.ttl` seconds, concurrent asks share one call, and a hook that throws, rejects,
 * times out or answers anything but a boolean is a 503, never a pass.
 */
import { AnswerCache } from './answer-cache';
import { UnavailableError } from '../http/errors';
import { callHook, type HookPolicy } from './bounded-call';
import { platform } from '../keys/platform';
import type { PermissionLookupOptions } from './answer-cache';
import type { TokenFacts } from '../pipeline/principal';
import { traced, type Telemetry } from './telemetry';

/** What `isRevoked` is given: the token's `jti` (RFC 9068 §2.2) and the caller it was issued to. */
export interface RevocationQuery {
  readonly jti: string | undefined;
  readonly principal: TokenFacts;
}

/** Answers whether a verified token was revoked before its `exp`. */
export type RevocationCheck = (query: RevocationQuery) => boolean | Promise<boolean>;

export class RevocationSource {
  readonly #check: RevocationCheck;
  readonly #answers: AnswerCache<boolean>;
  readonly #policy: HookPolicy<boolean>;
  readonly #telemetry: Telemetry | undefined;

  constructor(check: RevocationCheck, options: Required<PermissionLookupOptions>, clock: () => number, telemetry?: Telemetry) {
    this.#check = check;
    this.#telemetry = telemetry;
    this.#answers = new AnswerCache(options.ttl, options.maxEntries, clock);
    this.#policy = {
      timeoutMs: options.timeoutMs,
      accept: (answer) => {
        if (typeof answer !== 'boolean') throw new TypeError('isRevoked must answer true or false');
        return answer;
      },
      unavailable: (cause) => new UnavailableError('ERR_REVOCATION_UNAVAILABLE', 'the revocation check failed', { cause }),
    };
  }

  /** Whether the token (its `jti`, or the token itself when it has none) was revoked; synchronous when cached. */
  revoked(facts: TokenFacts, token: string): boolean | Promise<boolean> {
    const jti = typeof facts.claims.jti === 'string' ? facts.claims.jti : undefined;
    // Without a jti, the token's SHA-256 (where hashing is synchronous): 10 000 whole tokens are not kept.
    const name = jti ?? platform().sha256Base64url?.(token) ?? token;
    return this.#answers.get(facts.issuer, name, () =>
      traced(this.#telemetry, 'revocationCheck', () => callHook(() => this.#check({ jti, principal: facts }), this.#policy), { issuer: facts.issuer }),
    );
  }

  /** Drops cached answers: those of `jti` (of any issuer), or all. Lookups under way are not cached. */
  forget(jti?: string): void {
    this.#answers.forget(jti);
  }
}
