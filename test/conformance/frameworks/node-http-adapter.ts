import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'node:querystring';
import { Scopeguard, ScopeguardError, scopeRequirement, type GuardOptions, type Principal, type ScopeRequirement } from '@scopeguard/core';
import { engineFrom, isMetadataRequest, metadataAnswer, refusalAnswer, sendAnswer, tokenRequestFromNode } from '@scopeguard/core/adapter';

/** A guard for a plain `node:http` server: the whole adapter, written against the kit alone. */
export interface NodeGuard {
  readonly engine: Scopeguard;
  /** A route's requirement of every one of `scopes`, declared to the RFC 9728 metadata (`scopes_supported`). */
  requireScopes(...scopes: string[]): ScopeRequirement;
  /** A route's requirement of at least one of `scopes`, declared likewise. */
  requireAnyScope(...scopes: string[]): ScopeRequirement;
  /** Answers the RFC 9728 metadata document when `req` asks for it; whether it did. */
  servedMetadata(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * The caller, admitted for `requirements`; or `undefined` once the refusal (401, 403, 503) has been
   * answered on `res`. `body`: the form body, when the app parsed one (a body token is read from it).
   */
  admit(req: IncomingMessage, res: ServerResponse, requirements?: readonly ScopeRequirement[], body?: unknown): Promise<Principal | undefined>;
}

export function nodeGuard(options: GuardOptions | Scopeguard): NodeGuard {
  // Options or a shared engine; start-up notices and the decision log wired as every adapter does.
  const engine = engineFrom(options, 'nodeGuard');
  const withQuery = engine.options.tokenSources.has('query');
  const declared = (requirement: ScopeRequirement) => (engine.declareScopes(requirement.scopes), requirement);
  return {
    engine,
    requireScopes: (...scopes) => declared(scopeRequirement('all', scopes)),
    requireAnyScope: (...scopes) => declared(scopeRequirement('any', scopes)),
    servedMetadata(req, res) {
      if (!isMetadataRequest(engine, req.method ?? 'GET', req.url ?? '/')) return false;
      sendAnswer(metadataAnswer(engine)!, res); // Node sends no body for HEAD
      return true;
    },
    async admit(req, res, requirements, body) {
      // The query (all after the first `?`) is parsed only when a token may be in it; repeated names
      // become arrays, refused as such.
      const url = req.url ?? '/';
      const query = withQuery && url.includes('?') ? parse(url.slice(url.indexOf('?') + 1)) : undefined;
      const info = engine.auditing ? { method: req.method ?? 'GET', route: url.split('?')[0]! } : undefined;
      try {
        // One pipeline: extraction, verification, DPoP/mTLS, permissions and the route's scopes, in core.
        return await engine.admit(tokenRequestFromNode(req, { query, body }), requirements, info);
      } catch (error) {
        if (!(error instanceof ScopeguardError)) throw error; // a bug, never a refusal: the app's 500
        sendAnswer(refusalAnswer(engine, error), res);
        return undefined;
      }
    },
  };
}
