// Cloudflare Workers (workerd): a module worker. Bindings arrive as `env`; the app is built on first use.
import { createApp } from './app.mjs';

let app;
export default {
  fetch(request, env, context) {
    app ??= createApp(env);
    return app.fetch(request, env, context);
  },
};
