import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { Principal, RequireScopes, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { OrdersRepository, parseNewOrder, parseOrderPatch, type Order } from '../domain/orders';

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersRepository) {}

  @RequireScopes('orders.read')
  @Get()
  list(): Order[] {
    return this.orders.list();
  }

  @RequireScopes('orders.read')
  @Get(':id')
  get(@Param('id') id: string): Order {
    return this.orders.get(id);
  }

  @RequireScopes('orders.write')
  @Post()
  create(@Body() body: unknown, @Principal() caller: ScopeguardPrincipal): Order {
    return this.orders.create(parseNewOrder(body), caller.clientId ?? 'unknown');
  }

  @RequireScopes('orders.write')
  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown): Order {
    return this.orders.update(id, parseOrderPatch(body));
  }

  @RequireScopes('orders.admin')
  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): void {
    this.orders.delete(id);
  }
}
