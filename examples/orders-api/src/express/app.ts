/** The Express front door over the same domain: `app.use(scopeguard(…))`, `requireScopes` per route. */
import express, { type ErrorRequestHandler, type Request } from 'express';
import { requireScopes, scopeguard, type ScopeguardMiddlewareOptions } from '@scopeguard/express';
import { badJson } from '../bad-json';
import { NotFoundError, OrdersRepository, ValidationError, parseNewOrder, parseOrderPatch } from '../domain/orders';

export function createExpressApp(guard: ScopeguardMiddlewareOptions): express.Express {
  const orders = new OrdersRepository();
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(scopeguard(guard));
  app.use(express.json(), badJson);

  const id = (req: Request) => String(req.params.id);
  app.get('/orders', requireScopes('orders.read'), (_req, res) => {
    res.json(orders.list());
  });
  app.get('/orders/:id', requireScopes('orders.read'), (req, res) => {
    res.json(orders.get(id(req)));
  });
  app.post('/orders', requireScopes('orders.write'), (req, res) => {
    res.status(201).json(orders.create(parseNewOrder(req.body), req.auth?.clientId ?? 'unknown'));
  });
  app.patch('/orders/:id', requireScopes('orders.write'), (req, res) => {
    res.json(orders.update(id(req), parseOrderPatch(req.body)));
  });
  app.delete('/orders/:id', requireScopes('orders.admin'), (req, res) => {
    orders.delete(id(req));
    res.status(204).end();
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such route' });
  });

  const errors: ErrorRequestHandler = (error, _req, res, next) => {
    if (error instanceof NotFoundError) return void res.status(404).json({ error: 'not_found', message: error.message });
    if (error instanceof ValidationError) return void res.status(400).json({ error: 'bad_request', message: error.message });
    next(error);
  };
  app.use(errors);
  return app;
}
