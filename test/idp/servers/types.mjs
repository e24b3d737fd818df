/**
 * What a server module (django.mjs, glewlwyd.mjs, lemonldap.mjs) gives the checks. Types only.
 *
 * @typedef {'worker' | 'reporter' | 'foreign' | 'user'} TokenKind
 *   worker: orders-worker, client credentials, orders.read orders.write; reporter: orders-reporter,
 *   client credentials, orders.read (and orders.write where the server grants any scope asked);
 *   foreign: a client of another API (inventory), for that API; user: the user dwho, through a
 *   user grant (password or authorization code).
 *
 * @typedef {object} Running
 * @property {string} name
 * @property {Record<string, unknown>} options the guard's issuer options for this server (issuer, audience, jwksUri / introspection, …)
 * @property {(kind: TokenKind) => Promise<string>} mint
 * @property {(token: string) => Promise<string>} describe what the token says (decoded claims, or the introspection answer), for the report
 * @property {string} foreignClient the other API's client id
 * @property {string} userClient the client the user token is issued to
 * @property {() => Promise<{ token: string, expiresAt: number }>} [mintShortLived] an orders-worker token that expires within seconds
 * @property {(kind: TokenKind) => Promise<string>} [mintOpaque] an opaque (introspected) token
 * @property {(token: string) => Promise<void>} [revoke]
 * @property {() => Promise<{ kid: string, publishedMs: number, beforeReset?: string[] }>} [rotate] replaces the signing key (no overlap); resolves once the server's JWKS lists it
 * @property {string} [jwksUri]
 * @property {{ expired?: string, opaque?: string, rotation?: string }} [why] why a check does not apply
 * @property {() => Promise<string[]>} [facts] what the report says about the server (caching headers…)
 * @property {() => Promise<void>} stop
 *
 * @typedef {object} Idp
 * @property {string} name
 * @property {string[]} packages Debian packages it needs
 * @property {string} [preseed] debconf-set-selections input, applied before installing
 * @property {(stateDir: string, say: (line: string) => void) => Promise<Running>} start
 */
export {};
