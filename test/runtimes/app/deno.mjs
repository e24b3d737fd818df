// Deno: `deno run` this file; it prints {"port": N} once listening on 127.0.0.1.
import { createApp } from './app.mjs';

const app = createApp(Deno.env.toObject());
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(JSON.stringify({ port })) }, app.fetch);
