/** The orders domain: validation and an in-memory repository, shared by both front doors. */

export type OrderStatus = 'pending' | 'shipped' | 'cancelled';

export interface Order {
  readonly id: string;
  readonly item: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  /** The service user (client) that created it. */
  readonly createdBy: string;
  readonly createdAt: string;
}

/** A request body that does not describe a valid change; answered with 400. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

/** No order with that id; answered with 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

const STATUSES: readonly OrderStatus[] = ['pending', 'shipped', 'cancelled'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quantityOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new ValidationError('quantity must be a whole number from 1 to 10000');
  }
  return value;
}

function only(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length) throw new ValidationError(`unknown field(s): ${unknown.join(', ')}`);
}

/** Validates a create request: `{ item: string, quantity: integer }`. */
export function parseNewOrder(body: unknown): { item: string; quantity: number } {
  if (!isObject(body)) throw new ValidationError('the body must be a JSON object');
  only(body, ['item', 'quantity']);
  if (typeof body.item !== 'string' || body.item.trim().length === 0 || body.item.length > 200) {
    throw new ValidationError('item must be a non-empty string of at most 200 characters');
  }
  return { item: body.item.trim(), quantity: quantityOf(body.quantity) };
}

/** Validates a patch request: any of `{ quantity, status }`. */
export function parseOrderPatch(body: unknown): { quantity?: number; status?: OrderStatus } {
  if (!isObject(body)) throw new ValidationError('the body must be a JSON object');
  only(body, ['quantity', 'status']);
  if (body.quantity === undefined && body.status === undefined) throw new ValidationError('give quantity and/or status');
  const patch: { quantity?: number; status?: OrderStatus } = {};
  if (body.quantity !== undefined) patch.quantity = quantityOf(body.quantity);
  if (body.status !== undefined) {
    if (!STATUSES.includes(body.status as OrderStatus)) throw new ValidationError(`status must be one of ${STATUSES.join(', ')}`);
    patch.status = body.status as OrderStatus;
  }
  return patch;
}

/** Orders kept in memory for the life of the process. */
export class OrdersRepository {
  readonly #orders = new Map<string, Order>();
  #next = 1;

  list(): Order[] {
    return [...this.#orders.values()];
  }

  get(id: string): Order {
    const order = this.#orders.get(id);
    if (!order) throw new NotFoundError(`order ${id} does not exist`);
    return order;
  }

  create(input: { item: string; quantity: number }, createdBy: string): Order {
    const order: Order = { id: String(this.#next++), ...input, status: 'pending', createdBy, createdAt: new Date().toISOString() };
    this.#orders.set(order.id, order);
    return order;
  }

  update(id: string, patch: { quantity?: number; status?: OrderStatus }): Order {
    const order = { ...this.get(id), ...patch };
    this.#orders.set(id, order);
    return order;
  }

  delete(id: string): void {
    this.get(id);
    this.#orders.delete(id);
  }
}
