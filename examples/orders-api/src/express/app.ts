/** The Express front door over the same domain: `app.use(scopeguard(…))`, `requireScopes` per route. */
import express, { type ErrorRequestHandler, type Request } from 'express';
import { requireScopes, type ScopeguardMiddleware } from '@scopeguard/express';
import { badJson } from '../bad-json';
import { StoreUnavailableError, change, clientToDeactivate, parseClientId, parseRevocation, type RedisStore } from '../domain/admin';
import { NotFoundError, OrdersRepository, ValidationError, parseNewOrder, parseOrderPatch } from '../domain/orders';

/** The app behind `guard`; with a shared store (REDIS_URL), the admin routes that revoke and deactivate everywhere. */
export function createExpressApp(guard: ScopeguardMiddleware, shared?: RedisStore): express.Express {
  const orders = new OrdersRepository();
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(guard);
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
  if (shared) {
    app.post('/admin/revocations', requireScopes('orders.admin'), async (req, res) => {
      const revocation = parseRevocation(req.body);
      await change(() => shared.revoke(revocation));
      res.status(204).end();
    });
    app.put('/admin/inactive-clients/:clientId', requireScopes('orders.admin'), async (req, res) => {
      const clientId = clientToDeactivate(req.params.clientId, req.auth?.clientId);
      await change(() => shared.deactivateClient(clientId));
      res.status(204).end();
    });
    app.delete('/admin/inactive-clients/:clientId', requireScopes('orders.admin'), async (req, res) => {
      const clientId = parseClientId(req.params.clientId);
      await change(() => shared.activateClient(clientId));
      res.status(204).end();
    });
  }
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such route' });
  });

  const errors: ErrorRequestHandler = (error, _req, res, next) => {
    if (error instanceof NotFoundError) return void res.status(404).json({ error: 'not_found', message: error.message });
    if (error instanceof ValidationError) return void res.status(400).json({ error: 'bad_request', message: error.message });
    if (error instanceof StoreUnavailableError) return void res.status(503).set('retry-after', '1').json({ error: 'unavailable', message: 'the shared store is unavailable' });
    next(error);
  };
  app.use(errors);
  return app;
}
