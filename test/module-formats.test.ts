/**
 * The built packages must load from CommonJS apps (Nest 11) and ESM apps (Nest 12), on plain Node,
 * outside Jest: each child process imports dist/ and verifies a real token.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestIssuer, type TestIssuer } from '@scopeguard/testing';

const run = promisify(execFile);
const root = join(__dirname, '..');

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

const program = (load: string) => `
${load}
const guard = new Scopeguard({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE, jwksUri: process.env.JWKS });
guard.verify(process.env.TOKEN).then((p) => console.log(JSON.stringify({ client: p.clientId, mw: typeof scopeguard, kit: typeof refusalAnswer })));
`;

describe('module formats', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'packages/core/dist/index.js'))) throw new Error('run `npm run build` first (npm test does)');
  });

  it.each([
    ['CommonJS', ['-e', program("const { Scopeguard } = require('@scopeguard/core'); const { refusalAnswer } = require('@scopeguard/core/adapter'); const { scopeguard } = require('@scopeguard/express');")]],
    ['ESM', ['--input-type=module', '-e', program("import { Scopeguard } from '@scopeguard/core'; import { refusalAnswer } from '@scopeguard/core/adapter'; import { scopeguard } from '@scopeguard/express';")]],
  ])('%s apps can load and use the packages', async (_name, args) => {
    const token = await issuer.mint({ clientId: 'consumer' });
    const { stdout } = await run(process.execPath, args as string[], {
      cwd: root,
      env: { ...process.env, ISSUER: issuer.issuer, AUDIENCE: issuer.audience, JWKS: issuer.jwksUri, TOKEN: token },
    });
    expect(JSON.parse(stdout)).toEqual({ client: 'consumer', mw: 'function', kit: 'function' });
  });
});
