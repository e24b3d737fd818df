#!/usr/bin/env node
/**
 * `npm run test:browser`: the example's Swagger UI, driven in headless Chromium (Debian's `chromium`,
 * with playwright-core; no browser download). Starts the example as `npm start` does (PORT=0), then:
 * authorize as orders-worker (the client-credentials flow against the embedded server), create an
 * order with "Try it out"; authorize as orders-reporter and see the PATCH refused with 403 and
 * `scope="orders.write"`. Not part of `npm test`, which needs no browser; `.ci/run` runs it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  process.exit(1);
}

function startExample() {
  const child = spawn(process.execPath, [join(ROOT, 'examples/orders-api/dist/main.js')], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const docs = /API documentation .*: (\S+)/.exec(line)?.[1];
      if (docs) resolve({ child, docs });
    });
    child.once('exit', (code) => reject(new Error(`the example exited with ${code}`)));
  });
}

const { child, docs } = await startExample();
// Flags Chromium needs on a machine with no outside network (see the machine notes).
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const step = (text) => console.log(`✓ ${text}`);
try {
  const page = await browser.newPage();
  await page.goto(docs);
  await page.waitForSelector('.swagger-ui .btn.authorize');
  step(`Swagger UI at ${docs}`);

  /** Opens "Authorize", logs out of a previous client, authorizes as `clientId` with `scopes`. */
  async function authorize(clientId, secret, scopes) {
    await page.click('.swagger-ui .btn.authorize');
    const modal = page.locator('.dialog-ux .modal-ux');
    await modal.waitFor();
    // Swagger UI's buttons carry aria-labels of their own ("Remove authorization"): find them by text.
    const logout = modal.locator('button', { hasText: 'Logout' });
    if (await logout.count()) await logout.first().click();
    await modal.locator('input[data-name="clientId"]').fill(clientId);
    await modal.locator('input[data-name="clientSecret"]').fill(secret);
    // Swagger UI draws its own checkboxes: the label is what a user clicks.
    for (const scope of scopes) await modal.locator(`label[for="${scope}-clientCredentials-checkbox-oauth2"]`).click();
    await modal.locator('button.authorize').click();
    await modal.locator('button', { hasText: 'Logout' }).waitFor(); // the token arrived
    await modal.locator('button', { hasText: 'Close' }).click();
    step(`authorized as ${clientId} (${scopes.join(' ')}) through the embedded token endpoint`);
  }

  /** Opens an operation, fills its path parameter and body, executes it, returns the response status and headers text. */
  async function tryIt(method, path, { id, body } = {}) {
    const operation = page.locator(`.opblock-${method.toLowerCase()}`).filter({ has: page.locator(`[data-path="${path}"]`) }).first();
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    if (id !== undefined) await operation.locator('input[placeholder="id"]').fill(id);
    if (body !== undefined) await operation.locator('textarea.body-param__text').fill(JSON.stringify(body));
    await operation.getByRole('button', { name: 'Execute' }).click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    const result = { status: Number((await status.innerText()).trim()), text: await operation.locator('.live-responses-table').innerText() };
    await operation.locator('.opblock-summary').click(); // close it again
    return result;
  }

  await authorize('orders-worker', 'worker-secret', ['orders.read', 'orders.write']);
  const created = await tryIt('POST', '/orders', { body: { item: 'widget', quantity: 3 } });
  if (created.status !== 201) throw new Error(`POST /orders answered ${created.status}:\n${created.text}`);
  const id = /"id":\s*"([^"]+)"/.exec(created.text)?.[1];
  step(`POST /orders → 201, order ${id}`);

  await authorize('orders-reporter', 'reporter-secret', ['orders.read', 'orders.write']);
  const refused = await tryIt('PATCH', '/orders/{id}', { id, body: { status: 'shipped' } });
  if (refused.status !== 403 || !/scope="orders\.write"/.test(refused.text)) throw new Error(`PATCH answered ${refused.status}:\n${refused.text}`);
  step('PATCH /orders/{id} as orders-reporter → 403, WWW-Authenticate … scope="orders.write"');
  console.log('the Swagger UI flow works end to end');
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
