/**
 * `npm run worker`: the "orders-worker" background job of the vendors' guides. It gets a token
 * with the client credentials grant, reuses it across calls, and works through some orders.
 * Environment (the README's configuration table): API_URL (default http://127.0.0.1:$PORT),
 * TOKEN_ENDPOINT (default http://127.0.0.1:$AS_PORT/token), CLIENT_ID / CLIENT_SECRET (default
 * orders-worker / worker-secret), SCOPE (default "orders.read orders.write"); PORT and AS_PORT as
 * for `npm start` (3000, PORT + 1).
 */
import { ClientCredentialsClient } from './client';

async function main(): Promise<void> {
  const port = Number(process.env.PORT || 3000);
  const asPort = Number(process.env.AS_PORT || port + 1);
  const api = process.env.API_URL || `http://127.0.0.1:${port}`;
  const client = new ClientCredentialsClient({
    tokenEndpoint: process.env.TOKEN_ENDPOINT || `http://127.0.0.1:${asPort}/token`,
    clientId: process.env.CLIENT_ID ?? 'orders-worker',
    clientSecret: process.env.CLIENT_SECRET ?? 'worker-secret',
    scope: process.env.SCOPE ?? 'orders.read orders.write',
  });
  const show = async (label: string, response: Response) => console.log(`${label} → ${response.status} ${response.status === 204 ? '' : await response.text()}`);

  const json = { 'content-type': 'application/json' };
  const created = await client.call(`${api}/orders`, { method: 'POST', headers: json, body: JSON.stringify({ item: 'widget', quantity: 3 }) });
  const { id } = (await created.clone().json().catch(() => ({}))) as { id?: string };
  await show('POST /orders', created);
  await show('GET /orders', await client.call(`${api}/orders`));
  await show(`PATCH /orders/${id}`, await client.call(`${api}/orders/${id}`, { method: 'PATCH', headers: json, body: JSON.stringify({ status: 'shipped' }) }));
  await show(`DELETE /orders/${id} (needs orders.admin, which the worker does not hold)`, await client.call(`${api}/orders/${id}`, { method: 'DELETE' }));
  console.log(`token requests: ${client.tokenRequests} (one token, reused for every call)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
