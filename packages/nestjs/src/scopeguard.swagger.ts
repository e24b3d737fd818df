/**
 * Optional OpenAPI integration: used only when `@nestjs/swagger` is installed.
 */
import type { DocumentBuilder } from '@nestjs/swagger';
import { optionalPeer } from './scopeguard.optional';

/** The security scheme name the decorators refer to. */
export const OAUTH2_SCHEME = 'oauth2';

/** `ApiOAuth2(scopes)` when `@nestjs/swagger` is installed, otherwise nothing. */
export function apiOAuth2(scopes: readonly string[]): (ClassDecorator & MethodDecorator) | undefined {
  const api = optionalPeer<typeof import('@nestjs/swagger')>('@nestjs/swagger');
  return api ? (api.ApiOAuth2([...scopes], OAUTH2_SCHEME) as ClassDecorator & MethodDecorator) : undefined;
}

/**
 * Adds the OAuth 2.0 client-credentials security scheme that `@RequireScopes` refers to.
 * @example addClientCredentialsScheme(new DocumentBuilder().setTitle('Orders'), { tokenUrl, scopes: { 'orders.read': 'Read orders' } })
 */
export function addClientCredentialsScheme(
  builder: DocumentBuilder,
  options: { tokenUrl: string; scopes: Record<string, string> },
): DocumentBuilder {
  return builder.addOAuth2({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: options.tokenUrl, scopes: options.scopes } } }, OAUTH2_SCHEME);
}
