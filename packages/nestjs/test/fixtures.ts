/** Controllers used by the Nest tests: every decorator combination the README promises. */
import { Body, Controller, Delete, Get, Param, Post, Req, UseGuards } from '@nestjs/common';
import { AccessToken, Principal, Public, RequireAnyScope, RequireScopes, ScopeguardGuard, type ScopeguardPrincipal } from '@scopeguard/nestjs';

@RequireScopes('orders.read')
@Controller('orders')
export class OrdersController {
  @Get()
  list(@Principal() principal: ScopeguardPrincipal) {
    return { client: principal.clientId, permissions: principal.permissions };
  }

  @RequireScopes('orders.write')
  @Post()
  create(@Body() body: unknown) {
    return { created: body ?? null };
  }

  @RequireAnyScope('orders.admin', 'orders.owner')
  @Delete(':id')
  remove(@Param('id') id: string) {
    return { deleted: id };
  }

  @Public()
  @Get('catalog')
  catalog() {
    return { public: true };
  }
}

@Public()
@Controller('health')
export class HealthController {
  @Get()
  health() {
    return { ok: true };
  }

  @Public(false)
  @Get('details')
  details(@Principal() principal: ScopeguardPrincipal) {
    return { client: principal.clientId };
  }
}

@Controller('me')
export class MeController {
  @Get()
  me(@Principal() principal: ScopeguardPrincipal, @AccessToken() token: string) {
    return { client: principal.clientId, tokenLength: token.length };
  }
}

/** A controller guarded explicitly, for apps without the global guard. */
@UseGuards(ScopeguardGuard)
@Controller('explicit')
export class ExplicitController {
  @RequireScopes('orders.read')
  @Get()
  read() {
    return { explicit: true };
  }
}

/** What the guard left on the platform's request object, for the test that it adds nothing to Express's. */
@Controller('shape')
export class RequestShapeController {
  @RequireScopes('orders.read')
  @Get()
  shape(@Req() req: { auth?: ScopeguardPrincipal }) {
    return {
      client: req.auth?.clientId,
      ownAuth: Object.hasOwn(req, 'auth'),
      ownSymbols: Object.getOwnPropertySymbols(req).map(String).filter((name) => name.includes('scopeguard')),
    };
  }
}
