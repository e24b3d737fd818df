// Node: the same app on @hono/node-server, the reference the other runtimes are compared with.
import { serve } from '@hono/node-server';
import { createApp } from './app.mjs';

const app = createApp(process.env);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, ({ port }) => console.log(JSON.stringify({ port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
