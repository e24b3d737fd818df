/**
 * RFC 9728 on Nest: serves the protected resource metadata (a middleware, so the global guard never
 * sees it) and collects `scopes_supported` from every route's @RequireScopes / @RequireAnyScope.
 */
import { Injectable, type NestMiddleware, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Scopeguard, type ScopeRequirement } from '@scopeguard/core';
import { metadataAnswer, sendAnswer } from '@scopeguard/core/adapter';
import type { ServerResponse } from 'node:http';
import { OPTIONAL_METADATA, SCOPES_METADATA } from './scopeguard.constants';

@Injectable()
export class ScopeguardMetadataMiddleware implements NestMiddleware, OnModuleInit {
  constructor(
    private readonly engine: Scopeguard,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  /**
   * Declares the scopes of every controller and handler to the engine, and refuses to start on a route
   * that is both `@OptionalAuth()` and scoped (anonymous callers could not meet its requirement).
   */
  onModuleInit(): void {
    // Controllers, and providers too: GraphQL resolvers are providers.
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype || typeof instance !== 'object') continue;
      const requirementsOf = (target: object) => this.reflector.get<ScopeRequirement[] | undefined>(SCOPES_METADATA, target as never) ?? [];
      const optional = (target: object) => this.reflector.get<boolean | undefined>(OPTIONAL_METADATA, target as never) === true;
      for (const requirement of requirementsOf(metatype)) this.engine.declareScopes(requirement.scopes);
      const prototype = Object.getPrototypeOf(instance) as Record<string, object>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[name]!;
        for (const requirement of requirementsOf(method)) this.engine.declareScopes(requirement.scopes);
        const scoped = requirementsOf(method).length > 0 || requirementsOf(metatype).length > 0;
        if (scoped && (optional(method) || optional(metatype))) {
          throw new Error(`scopeguard: ${metatype.name}.${name} is @OptionalAuth() and requires scopes: anonymous callers could never meet them; choose one`);
        }
      }
    }
  }

  use(_req: unknown, res: ServerResponse, _next: () => void): void {
    sendAnswer(metadataAnswer(this.engine)!, res);
  }
}
