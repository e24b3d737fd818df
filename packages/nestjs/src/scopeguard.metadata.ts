/**
 * RFC 9728 on Nest: serves the protected resource metadata (a middleware, so the global guard never
 * sees it) and collects `scopes_supported` from every route's @RequireScopes / @RequireAnyScope.
 */
import { Injectable, type NestMiddleware, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Scopeguard, metadataAnswer, type ScopeRequirement } from '@scopeguard/core';
import type { ServerResponse } from 'node:http';
import { SCOPES_METADATA } from './scopeguard.constants';

@Injectable()
export class ScopeguardMetadataMiddleware implements NestMiddleware, OnModuleInit {
  constructor(
    private readonly engine: Scopeguard,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  /** Declares the scopes of every controller and handler to the engine. */
  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const declare = (target: object) => {
        for (const requirement of this.reflector.get<ScopeRequirement[] | undefined>(SCOPES_METADATA, target as never) ?? []) {
          this.engine.declareScopes(requirement.scopes);
        }
      };
      declare(metatype);
      const prototype = Object.getPrototypeOf(instance) as Record<string, object>;
      for (const name of this.scanner.getAllMethodNames(prototype)) declare(prototype[name]!);
    }
  }

  use(_req: unknown, res: ServerResponse, _next: () => void): void {
    const { status, headers, body } = metadataAnswer(this.engine)!;
    res.statusCode = status;
    for (const name in headers) res.setHeader(name, headers[name]!);
    res.end(body);
  }
}
