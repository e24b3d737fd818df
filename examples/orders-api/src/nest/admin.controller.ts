import { Body, Controller, Delete, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Principal, RequireScopes, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { change, clientToDeactivate, parseClientId, parseRevocation, type RedisStore } from '../domain/admin';

/** The injection token of the shared store (REDIS_URL). */
export const SHARED_STORE = Symbol('SHARED_STORE');

/** Revokes tokens and deactivates clients on every instance; registered only with a shared store. */
@ApiExcludeController()
@Controller('admin')
export class AdminController {
  constructor(@Inject(SHARED_STORE) private readonly shared: RedisStore) {}

  @RequireScopes('orders.admin')
  @Post('revocations')
  @HttpCode(204)
  async revoke(@Body() body: unknown): Promise<void> {
    const revocation = parseRevocation(body);
    await change(() => this.shared.revoke(revocation));
  }

  @RequireScopes('orders.admin')
  @Put('inactive-clients/:clientId')
  @HttpCode(204)
  async deactivate(@Param('clientId') clientId: string, @Principal() caller: ScopeguardPrincipal | undefined): Promise<void> {
    const id = clientToDeactivate(clientId, caller?.clientId);
    await change(() => this.shared.deactivateClient(id));
  }

  @RequireScopes('orders.admin')
  @Delete('inactive-clients/:clientId')
  @HttpCode(204)
  async activate(@Param('clientId') clientId: string): Promise<void> {
    const id = parseClientId(clientId);
    await change(() => this.shared.activateClient(id));
  }
}
