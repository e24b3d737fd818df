/**
 * Every ```ts block of every README compiles when pasted into a strict TypeScript project, against the
 * built packages, so the docs cannot drift from the API. A block may be preceded by an HTML comment
 * `<!-- context: … -->` (invisible when rendered) declaring what the app around it would have (a
 * controller, a handler); nothing else is added. Each block is its own module.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '../..');
const READMES = ['README.md', 'packages/core/README.md', 'packages/express/README.md', 'packages/nestjs/README.md', 'packages/fastify/README.md', 'packages/hono/README.md', 'packages/koa/README.md', 'packages/mcp/README.md', 'packages/redis/README.md', 'packages/testing/README.md', 'examples/orders-api/README.md'];
// Inside the repository, so the workspace packages resolve as a user's installed ones do (their dist).
const OUT = join(ROOT, 'test/docs/.snippets');

interface Snippet {
  readonly readme: string;
  /** The README line of the block's first code line. */
  readonly line: number;
  readonly context: string;
  readonly code: string;
}

export function snippetsOf(readme: string): Snippet[] {
  const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const context = /^<!-- context: ([\s\S]*) -->$/.exec(lines[i - 1]?.trim() ?? '')?.[1] ?? '';
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    found.push({ readme, line: start + 1, context, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return found;
}

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node', 'jest'],
  },
  include: ['*.ts'],
};

describe('README snippets', () => {
  const snippets = READMES.flatMap(snippetsOf);

  it('there are snippets to check', () => {
    expect(snippets.length).toBeGreaterThan(15);
  });

  it("the core README's adapter is the one the conformance table runs", () => {
    const shown = snippets.find((snippet) => snippet.readme === 'packages/core/README.md' && snippet.code.includes('export function nodeGuard('));
    const run = readFileSync(join(ROOT, 'test/conformance/frameworks/node-http-adapter.ts'), 'utf8');
    expect(shown?.code.trim()).toBe(run.trim());
    // Written against the package's two entries alone, as a third party's adapter would be.
    const imports = [...run.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
    expect(imports.filter((name) => !name!.startsWith('node:'))).toEqual(['@scopeguard/core', '@scopeguard/core/adapter']);
  });

  it('each compiles in a strict project', () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    // CommonJS, as a Nest or Express app usually is; `export {}` makes each file a module of its own.
    writeFileSync(join(OUT, 'package.json'), JSON.stringify({ type: 'commonjs' }));
    const files = snippets.map((snippet, index) => {
      const name = `${snippet.readme.replace(/[/.]/g, '_')}_${index}.ts`;
      writeFileSync(join(OUT, name), `${snippet.context}\n${snippet.code}\nexport {};\n`);
      return { name, snippet };
    });
    let output = '';
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', OUT], { encoding: 'utf8', cwd: OUT });
    } catch (error) {
      output = (error as { stdout: string }).stdout;
    }
    // Each diagnostic named by README and line, so the fix is found where the reader sees it.
    const problems = output
      .split('\n')
      .filter((line) => /error TS/.test(line))
      .map((line) => {
        const match = /^(.+?)\((\d+),\d+\): (.*)$/.exec(line);
        const file = files.find((candidate) => match?.[1] === candidate.name);
        if (!match || !file) return line;
        const contextLines = file.snippet.context === '' ? 0 : file.snippet.context.split('\n').length;
        const readmeLine = file.snippet.line + Number(match[2]) - 1 - contextLines - 1;
        return `${file.snippet.readme}:${readmeLine}: ${match[3]}`;
      });
    expect(problems).toEqual([]);
  }, 120_000);
});

export { relative };

describe('package READMEs, as published', () => {
  it.each(['core', 'express', 'nestjs', 'fastify', 'hono', 'koa', 'mcp', 'redis', 'testing'])('%s: starts with an install line and links nothing relative (npm shows it outside the repository)', (name) => {
    const readme = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
    expect(readme).toMatch(new RegExp(`npm install (--save-dev )?@scopeguard/${name}`));
    expect(readme.match(/\]\((?!https?:|#)[^)]*\)/g) ?? []).toEqual([]);
  });
});

describe('test recipes in the READMEs', () => {
  // When beforeAll fails, afterAll still runs with what beforeAll never assigned: a `server.close()`
  // or `app.close()` on undefined throws, the issuer's close() after it never runs, and Jest hangs.
  const recipes = READMES.flatMap(snippetsOf).filter((snippet) => /\bafterAll\(/.test(snippet.code));

  it('there are recipes to check', () => {
    expect(recipes.length).toBeGreaterThanOrEqual(6);
  });

  it('every afterAll tolerates a failed beforeAll: each close() through ?.', () => {
    const unsafe = recipes.flatMap((snippet) => {
      const teardown = /afterAll\(([\s\S]*?)\n\}\);|afterAll\(([^\n]*)\);/.exec(snippet.code);
      const body = teardown?.[1] ?? teardown?.[2] ?? '';
      return [...body.matchAll(/\b(\w+)\.close\(/g)].map((match) => `${snippet.readme}:${snippet.line}: ${match[1]}.close()`);
    });
    expect(unsafe).toEqual([]);
  });
});

describe('install lines', () => {
  const BUILTIN = /^(node:|@scopeguard\/)/;
  // What a project has before it reads our README: its test tooling, and the app framework a README's
  // examples are written in when that README is not the framework's adapter.
  const NEST = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/platform-fastify', 'reflect-metadata', 'rxjs'];
  const PRESENT: Record<string, string[]> = {
    nestjs: [...NEST, '@nestjs/config', 'express'],
    redis: [...NEST, 'express'],
    testing: [...NEST, 'express'],
  };
  // supertest: `nest new` generates its e2e test with it.
  const TOOLING = ['jest', '@jest/globals', '@nestjs/testing', 'supertest', 'tslib'];
  it.each(['express', 'nestjs', 'fastify', 'hono', 'koa', 'mcp', 'redis', 'testing'])('%s: every package its snippets import is in one of its npm install lines', (name) => {
    const readme = `packages/${name}/README.md`;
    const text = readFileSync(join(ROOT, readme), 'utf8');
    const present = new Set([...TOOLING, ...(PRESENT[name] ?? [])]);
    // An install line and its comment ("# and @koa/router for routes") both count.
    const installed = new Set([...text.matchAll(/npm install ([^\n`]+)/g)].flatMap((match) => match[1]!.split(/[\s,]+/)).map((word) => word.replace(/^(@[^/@]+\/[^@]+|[^@]+)@.*$/, '$1')));
    const imported = new Set(
      snippetsOf(readme)
        .flatMap((snippet) => [...snippet.code.matchAll(/from '([^'.][^']*)'/g)].map((match) => match[1]!))
        .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!))
        .filter((pkg) => !BUILTIN.test(pkg) && !present.has(pkg)),
    );
    expect([...imported].filter((pkg) => !installed.has(pkg))).toEqual([]);
  });
});
