/**
 * `@scopeguard/nestjs/swagger`: the OpenAPI document with each route's scopes (needs `@nestjs/swagger`).
 * A subpath of its own, so the main entry's types never name `@nestjs/swagger`: an app without it
 * type-checks with `skipLibCheck: false`.
 */
export { MAX_SECURITY_ALTERNATIVES, OAUTH2_SCHEME, addClientCredentialsScheme, createScopeguardDocument } from './scopeguard.swagger';
