/**
 * Fail closed at start-up: Nest runs guards on GraphQL field resolvers (`@ResolveField`) only when
 * `GraphQLModule` is given `fieldResolverEnhancers: ['guards']`. Without it, a `@RequireScopes` on a
 * field resolver would silently do nothing; the app refuses to start instead, saying how to fix it.
 */
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, Reflector } from '@nestjs/core';
import type { ScopeRequirement } from '@scopeguard/core';
import { SCOPES_METADATA } from './scopeguard.constants';

/** `@nestjs/graphql`'s metadata key of `@ResolveField` and the injection token of its module options. */
const RESOLVE_FIELD_METADATA = 'graphql:resolve_property';
const GRAPHQL_MODULE_OPTIONS = 'GqlModuleOptions';

@Injectable()
export class ScopeguardResolverCheck implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    const unenforced = this.#scopedFieldResolvers();
    if (unenforced.length === 0 || this.#guardsRunOnFields()) return;
    throw new Error(
      `scopeguard: @RequireScopes on field resolvers (${unenforced.join(', ')}) would not be enforced: ` +
        "Nest runs guards on @ResolveField methods only with GraphQLModule.forRoot({ fieldResolverEnhancers: ['guards'] })",
    );
  }

  /** `Class.method` of every `@ResolveField` with a scope requirement of its own or of its class. */
  #scopedFieldResolvers(): string[] {
    const found: string[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, object>;
      const classScoped = (this.reflector.get<ScopeRequirement[] | undefined>(SCOPES_METADATA, metatype as never)?.length ?? 0) > 0;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[name]!;
        if (this.reflector.get<boolean | undefined>(RESOLVE_FIELD_METADATA, method as never) !== true) continue;
        const scoped = (this.reflector.get<ScopeRequirement[] | undefined>(SCOPES_METADATA, method as never)?.length ?? 0) > 0;
        if (scoped || classScoped) found.push(`${(metatype as { name?: string }).name ?? 'resolver'}.${name}`);
      }
    }
    return found;
  }

  #guardsRunOnFields(): boolean {
    let options: { fieldResolverEnhancers?: readonly string[] } | undefined;
    try {
      options = this.moduleRef.get(GRAPHQL_MODULE_OPTIONS, { strict: false });
    } catch {
      return false; // no GraphQL module: nothing runs these resolvers at all, but say so loudly
    }
    return options?.fieldResolverEnhancers?.includes('guards') === true;
  }
}
