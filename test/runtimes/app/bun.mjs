// Bun: `bun run` this file; it prints {"port": N} once listening on 127.0.0.1.
import { createApp } from './app.mjs';

const app = createApp(process.env);
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch });
console.log(JSON.stringify({ port: server.port }));
