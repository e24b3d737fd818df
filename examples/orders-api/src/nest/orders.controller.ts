import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { Principal, RequireScopes, type ScopeguardPrincipal } from '@scopeguard/nestjs';
import { OrdersRepository, parseNewOrder, parseOrderPatch, type Order } from '../domain/orders';

const NEW_ORDER = {
  type: 'object',
  required: ['item', 'quantity'],
  properties: { item: { type: 'string', example: 'widget' }, quantity: { type: 'integer', minimum: 1, maximum: 10000, example: 3 } },
};
const ORDER_PATCH = {
  type: 'object',
  properties: { quantity: { type: 'integer', minimum: 1, maximum: 10000 }, status: { type: 'string', enum: ['pending', 'shipped', 'cancelled'], example: 'shipped' } },
};

@ApiTags('orders')
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
  @ApiBody({ schema: NEW_ORDER })
  @Post()
  create(@Body() body: unknown, @Principal() caller: ScopeguardPrincipal): Order {
    return this.orders.create(parseNewOrder(body), caller.clientId ?? 'unknown');
  }

  @RequireScopes('orders.write')
  @ApiBody({ schema: ORDER_PATCH })
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
