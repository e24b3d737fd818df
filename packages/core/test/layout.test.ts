/**
 * The house rules of core's layout, read off its sources: no circle of imports (type imports
 * included, so each feature can be read and changed alone), and a user's API small enough to read in
 * a minute, with what only adapters need on `@scopeguard/core/adapter`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(__dirname, '../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The files each file imports or re-exports from, by relative specifier (`import type` included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const [, specifier] of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']*)'/gms)) {
      const base = resolve(dirname(file), specifier!);
      const target = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
      if (target !== undefined) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** A circle of imports, as the files in it, or `undefined` when there is none. */
function findCircle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return path.slice(path.indexOf(file));
    state.set(file, 'open');
    path.push(file);
    for (const target of graph.get(file) ?? []) {
      const circle = visit(target);
      if (circle) return circle;
    }
    path.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const circle = visit(file);
    if (circle) return circle;
  }
  return undefined;
}

/** Names a module's `export { … }` and `export type { … }` lists give. */
function exportedNames(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap(([, list]) =>
    list!.split(',').map((item) => item.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!).filter(Boolean),
  );
}

describe("core's layout", () => {
  it('has no circle of imports, type imports included', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(30);
    expect(findCircle(graph)?.map((file) => relative(SRC, file))).toBeUndefined();
  });

  it('finds a circle when there is one (the check can fail)', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    expect(findCircle(new Map([[a, [b]], [b, [a]]]))).toEqual([a, b]);
  });

  it("keeps the user's API at most 40 names, none of them also in the adapter kit", () => {
    const root = exportedNames('exports.ts');
    const kit = [...exportedNames('kit.ts'), ...exportedNames('adapter.ts')];
    expect(root.length).toBeLessThanOrEqual(40);
    expect(root.filter((name) => kit.includes(name))).toEqual([]);
  });

  it('gives the root entry exactly the names exports.ts lists, and the kit its own', async () => {
    const root = (await import('@scopeguard/core')) as Record<string, unknown>;
    const kit = (await import('@scopeguard/core/adapter')) as Record<string, unknown>;
    const values = (names: string[], module: Record<string, unknown>) => names.filter((name) => name in module);
    expect(Object.keys(root).sort()).toEqual(values(exportedNames('exports.ts'), root).sort());
    expect(Object.keys(kit).filter((name) => name in root)).toEqual([]);
    expect(typeof kit.tokenRequestFromNode).toBe('function');
  });
});
