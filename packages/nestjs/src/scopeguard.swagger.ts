/**
 * Optional OpenAPI integration: used only when `@nestjs/swagger` is installed.
 *
 * OpenAPI 3 reads an operation's `security` as a list of alternatives (OR); one requirement object
 * needs every scheme it names, and every scope listed for an oauth2 scheme (AND). A route's scope
 * requirements (class AND method; `@RequireScopes` all of, `@RequireAnyScope` one of) are therefore
 * written in disjunctive normal form: one requirement object per way to meet them. `@nestjs/swagger`
 * alone cannot say that (each `@ApiSecurity` adds an alternative, and a controller's are added to its
 * methods'), so the document is built by {@link createScopeguardDocument}, which knows the guard.
 */
import { RequestMethod, type INestApplication } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { DocumentBuilder, OpenAPIObject, SwaggerDocumentOptions } from '@nestjs/swagger';
import type { ScopeRequirement } from '@scopeguard/core';
import { PUBLIC_METADATA, SCOPES_METADATA } from './scopeguard.constants';
import { ScopeguardGuard } from './scopeguard.guard';
import { SCOPEGUARD_OPTIONS } from './scopeguard.module-definition';
import type { ScopeguardModuleOptions } from './scopeguard-module-options.interface';
import { optionalPeer } from './scopeguard.optional';

/** The security scheme name the routes' requirements refer to. */
export const OAUTH2_SCHEME = 'oauth2';

/** At most this many alternative requirement objects for one route; more fail the document build. */
export const MAX_SECURITY_ALTERNATIVES = 64;

// Nest's metadata keys (@nestjs/common/constants), spelled out: that deep import is not a public entry point.
const PATH_METADATA = 'path';
const METHOD_METADATA = 'method';
const GUARDS_METADATA = '__guards__';

const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Scheme names that mark, while the document is built, which controller and handler an operation is. */
const CONTROLLER_MARK = 'x-scopeguard-controller:';
const HANDLER_MARK = 'x-scopeguard-handler:';

type SecurityRequirement = Record<string, string[]>;
type Operation = { security?: SecurityRequirement[]; responses?: Record<string, unknown> };

/** What one route gets in the document. */
type RouteDoc =
  | { readonly kind: 'unguarded' }
  | { readonly kind: 'public' }
  | { readonly kind: 'guarded'; readonly security: SecurityRequirement[]; readonly forbidden?: 'scopes' | 'deny' };

const CHALLENGE = 'The Bearer challenge (RFC 6750 §3): `error`, `error_description`, and the required `scope` on 403.';
const UNAUTHORIZED = 'No valid access token (missing, invalid or expired); the `WWW-Authenticate: Bearer` header carries the challenge.';
const FORBIDDEN_SCOPES =
  'The access token does not grant the scopes this route requires; `WWW-Authenticate` carries `error="insufficient_scope"` and the required `scope`.';
const FORBIDDEN_DENY =
  "Refused to every token: the route declares no scopes and the module's `defaultPolicy` is `deny`; `WWW-Authenticate` carries `error=\"insufficient_scope\"`.";

/** A response object of its own for each operation (YAML writers turn shared objects into anchors). */
function challengeResponse(description: string): Record<string, unknown> {
  return { description, headers: { 'WWW-Authenticate': { description: CHALLENGE, schema: { type: 'string' } } } };
}

/**
 * Adds the OAuth 2.0 client-credentials security scheme that the routes' requirements refer to.
 * @example addClientCredentialsScheme(new DocumentBuilder().setTitle('Orders'), { tokenUrl, scopes: { 'orders.read': 'Read orders' } })
 */
export function addClientCredentialsScheme(
  builder: DocumentBuilder,
  options: { tokenUrl: string; scopes: Record<string, string> },
): DocumentBuilder {
  return builder.addOAuth2({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: options.tokenUrl, scopes: options.scopes } } }, OAUTH2_SCHEME);
}

/**
 * `SwaggerModule.createDocument(app, config, options)`, with what scopeguard applies to each route:
 * - scope requirements as OpenAPI alternatives: `@RequireScopes('a', 'b')` is `[{ oauth2: ['a', 'b'] }]`,
 *   `@RequireAnyScope('a', 'b')` is `[{ oauth2: ['a'] }, { oauth2: ['b'] }]`, and requirements stacked on
 *   the controller and the method are every combination of them (deduplicated, at most
 *   {@link MAX_SECURITY_ALTERNATIVES}: more throw, naming the route);
 * - routes the guard protects without scopes (global guard or `@UseGuards(ScopeguardGuard)`): `[{ oauth2: [] }]`;
 * - `@Public()` routes: `security: []`, which overrides a document-wide requirement;
 * - responses 401 on every protected route, and 403 where scopes are required or `defaultPolicy: 'deny'`
 *   refuses the route, unless the app declared those responses itself.
 *
 * Security requirements the app declares with `@ApiSecurity` are kept, as further alternatives.
 * Throws when `@nestjs/swagger` is not installed or `ScopeguardModule` is not imported.
 * @example SwaggerModule.setup('docs', app, createScopeguardDocument(app, config));
 */
export function createScopeguardDocument(
  app: INestApplication,
  config: Omit<OpenAPIObject, 'paths'>,
  options?: SwaggerDocumentOptions,
): OpenAPIObject {
  const swagger = optionalPeer<typeof import('@nestjs/swagger')>('@nestjs/swagger');
  if (!swagger) throw new Error('scopeguard: createScopeguardDocument needs @nestjs/swagger, which is not installed');
  const securityKey = swagger.DECORATORS.API_SECURITY;
  const routes = describeRoutes(app);

  // Each controller and handler gets a marker requirement, so that the operations swagger builds can
  // be told apart afterwards (a handler may serve several controllers, through inheritance). The
  // values are computed from the untouched metadata first, then set, then restored whatever happens.
  const marks = new Map<object, SecurityRequirement[]>();
  for (const [index, { controller, handlers }] of routes.entries()) {
    marks.set(controller, [{ [`${CONTROLLER_MARK}${index}`]: [] }, ...securityOf(securityKey, controller)]);
    for (const { handler, id } of handlers) {
      if (!marks.has(handler)) marks.set(handler, [{ [`${HANDLER_MARK}${id}`]: [] }, ...securityOf(securityKey, handler)]);
    }
  }
  const saved = [...marks.keys()].map((target) => ({
    target,
    own: Reflect.hasOwnMetadata(securityKey, target),
    value: Reflect.getOwnMetadata(securityKey, target) as unknown,
  }));
  let document: OpenAPIObject;
  try {
    for (const [target, value] of marks) Reflect.defineMetadata(securityKey, value, target);
    document = swagger.SwaggerModule.createDocument(app, config, options);
  } finally {
    for (const { target, own, value } of saved) {
      if (own) Reflect.defineMetadata(securityKey, value, target);
      else Reflect.deleteMetadata(securityKey, target);
    }
  }

  const docs = new Map<string, RouteDoc>();
  for (const [index, { handlers }] of routes.entries()) {
    for (const { id, doc } of handlers) docs.set(`${index}/${id}`, doc);
  }
  for (const item of Object.values(document.paths ?? {})) {
    for (const method of OPERATION_METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (operation) applyRoute(operation, docs);
    }
  }
  // Webhooks describe requests this API sends: they only lose the markers.
  for (const item of Object.values((document as { webhooks?: Record<string, unknown> }).webhooks ?? {})) {
    for (const method of OPERATION_METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (operation) applyRoute(operation, new Map());
    }
  }
  return document;
}

/** The security requirements declared on a target with `@ApiSecurity` (a controller's include its parents'). */
function securityOf(key: string, target: object): SecurityRequirement[] {
  return (Reflect.getMetadata(key, target) as SecurityRequirement[] | undefined) ?? [];
}

/** Takes the markers out of an operation and writes what scopeguard applies to its route. */
function applyRoute(operation: Operation, docs: ReadonlyMap<string, RouteDoc>): void {
  let controller: string | undefined;
  let handler: string | undefined;
  const declared: SecurityRequirement[] = [];
  for (const requirement of operation.security ?? []) {
    const names = Object.keys(requirement);
    if (names.length === 1 && names[0]!.startsWith(CONTROLLER_MARK)) controller = names[0]!.slice(CONTROLLER_MARK.length);
    else if (names.length === 1 && names[0]!.startsWith(HANDLER_MARK)) handler = names[0]!.slice(HANDLER_MARK.length);
    else declared.push(requirement);
  }
  if (controller === undefined && handler === undefined) return;
  const doc: RouteDoc = (controller !== undefined && handler !== undefined && docs.get(`${controller}/${handler}`)) || { kind: 'unguarded' };
  switch (doc.kind) {
    case 'unguarded':
      if (declared.length > 0) operation.security = declared;
      else delete operation.security;
      return;
    case 'public':
      operation.security = declared;
      return;
    case 'guarded': {
      operation.security = uniqueRequirements([...doc.security, ...declared]);
      const responses = (operation.responses ??= {});
      if (!('401' in responses)) responses['401'] = challengeResponse(UNAUTHORIZED);
      if (doc.forbidden && !('403' in responses)) responses['403'] = challengeResponse(doc.forbidden === 'deny' ? FORBIDDEN_DENY : FORBIDDEN_SCOPES);
    }
  }
}

function uniqueRequirements(requirements: SecurityRequirement[]): SecurityRequirement[] {
  const seen = new Set<string>();
  return requirements.filter((requirement) => {
    const key = JSON.stringify(Object.entries(requirement).map(([name, scopes]) => [name, [...scopes].sort()]).sort());
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

interface ControllerRoutes {
  readonly controller: object;
  readonly handlers: { readonly handler: object; readonly id: string; readonly doc: RouteDoc }[];
}

/** Every controller route and what the guard applies to it, read as the guard reads it. */
function describeRoutes(app: INestApplication): ControllerRoutes[] {
  let discovery: DiscoveryService;
  let options: ScopeguardModuleOptions;
  try {
    discovery = app.get(DiscoveryService, { strict: false });
    options = app.get<ScopeguardModuleOptions>(SCOPEGUARD_OPTIONS, { strict: false });
  } catch {
    throw new Error('scopeguard: createScopeguardDocument needs an app that imports ScopeguardModule');
  }
  const globallyGuarded = hasGlobalGuard(app);
  const scanner = new MetadataScanner();
  const handlerIds = new Map<object, string>();
  const routes: ControllerRoutes[] = [];
  for (const { metatype } of discovery.getControllers()) {
    if (typeof metatype !== 'function') continue;
    const controller = metatype as unknown as { name: string; prototype: Record<string, unknown> };
    const handlers: ControllerRoutes['handlers'] = [];
    for (const name of scanner.getAllMethodNames(controller.prototype)) {
      const handler = controller.prototype[name];
      if (typeof handler !== 'function' || !Reflect.hasMetadata(PATH_METADATA, handler)) continue;
      if (!handlerIds.has(handler)) handlerIds.set(handler, String(handlerIds.size));
      handlers.push({ handler, id: handlerIds.get(handler)!, doc: describeRoute(controller, handler, name, globallyGuarded, options) });
    }
    routes.push({ controller, handlers });
  }
  return routes;
}

function describeRoute(
  controller: { name: string },
  handler: object,
  name: string,
  globallyGuarded: boolean,
  options: ScopeguardModuleOptions,
): RouteDoc {
  if (isPublic(handler, controller)) return { kind: 'public' };
  const requirements = [...requirementsOf(controller), ...requirementsOf(handler)];
  if (requirements.length > 0) {
    const route = `${controller.name}.${name} (${routeName(controller, handler)})`;
    return { kind: 'guarded', security: alternatives(requirements, route).map((scopes) => ({ [OAUTH2_SCHEME]: scopes })), forbidden: 'scopes' };
  }
  if (!globallyGuarded && !guardedByScopeguard(handler, controller)) return { kind: 'unguarded' };
  return { kind: 'guarded', security: [{ [OAUTH2_SCHEME]: [] }], ...(options.defaultPolicy === 'deny' && { forbidden: 'deny' as const }) };
}

function requirementsOf(target: object): readonly ScopeRequirement[] {
  return (Reflect.getMetadata(SCOPES_METADATA, target) as ScopeRequirement[] | undefined) ?? [];
}

/** As the guard decides it (ScopeguardGuard#isPublic). */
function isPublic(handler: object, controller: object): boolean {
  if ((Reflect.getMetadata(SCOPES_METADATA, handler) as unknown[] | undefined)?.length) return false;
  const methodPublic = Reflect.getMetadata(PUBLIC_METADATA, handler) as boolean | undefined;
  if (methodPublic !== undefined) return methodPublic === true;
  return Reflect.getMetadata(PUBLIC_METADATA, controller) === true && requirementsOf(controller).length === 0;
}

function isScopeguardGuard(guard: unknown): boolean {
  return (
    guard instanceof ScopeguardGuard ||
    (typeof guard === 'function' && (guard === ScopeguardGuard || (guard as { prototype?: unknown }).prototype instanceof ScopeguardGuard))
  );
}

function guardedByScopeguard(handler: object, controller: object): boolean {
  return [controller, handler].some((target) => ((Reflect.getMetadata(GUARDS_METADATA, target) as unknown[] | undefined) ?? []).some(isScopeguardGuard));
}

/** Whether ScopeguardGuard is a global guard (`global: true`, or `app.useGlobalGuards`). */
function hasGlobalGuard(app: INestApplication): boolean {
  const config = (app as unknown as { config?: { getGlobalGuards?(): unknown[]; getGlobalRequestGuards?(): { metatype?: unknown }[] } }).config;
  return (
    (config?.getGlobalGuards?.() ?? []).some(isScopeguardGuard) ||
    (config?.getGlobalRequestGuards?.() ?? []).some((wrapper) => isScopeguardGuard(wrapper.metatype))
  );
}

/** `GET /orders/:id`, for error messages. */
function routeName(controller: object, handler: object): string {
  const first = (path: unknown) => String((Array.isArray(path) ? path[0] : path) ?? '');
  const path = [first(Reflect.getMetadata(PATH_METADATA, controller)), first(Reflect.getMetadata(PATH_METADATA, handler))]
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/');
  const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod] ?? 'ALL';
  return `${method} /${path}`;
}

/**
 * The ways to meet every requirement, each a list of scopes that are all needed: the disjunctive
 * normal form of (all of …) AND (one of …) AND …. Scopes are deduplicated within a way, and a way
 * that needs every scope of another (and more) is dropped: the other already suffices.
 */
function alternatives(requirements: readonly ScopeRequirement[], route: string): string[][] {
  let ways: string[][] = [[]];
  for (const requirement of requirements) {
    ways =
      requirement.mode === 'all'
        ? ways.map((way) => [...new Set([...way, ...requirement.scopes])])
        : ways.flatMap((way) => requirement.scopes.map((scope) => (way.includes(scope) ? way : [...way, scope])));
    ways = minimal(ways);
    if (ways.length > MAX_SECURITY_ALTERNATIVES) {
      throw new Error(
        `scopeguard: cannot document ${route}: its scope requirements expand to at least ${ways.length} alternative OpenAPI security requirements ` +
          `(every combination of its @RequireAnyScope choices), more than ${MAX_SECURITY_ALTERNATIVES}. Split the route or simplify its requirements.`,
      );
    }
  }
  return ways;
}

/** Drops repeated ways and ways that contain another. */
function minimal(ways: string[][]): string[][] {
  const sets = ways.map((way) => new Set(way));
  const within = (a: Set<string>, b: Set<string>) => a.size <= b.size && [...a].every((scope) => b.has(scope));
  return ways.filter((_, i) =>
    sets.every((other, j) => j === i || !within(other, sets[i]!) || (other.size === sets[i]!.size && j > i)),
  );
}
