/**
 * `@promethean/shared` runs in the browser: nothing reachable from its main entry may import a
 * `node:` module or a Node built-in. Node-only code lives under `src/node/` (`@promethean/shared/node`).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module specifier reachable from `entry` through relative imports, with the file importing it. */
function reachableImports(entry: string): Array<{ file: string; specifier: string }> {
  const seen = new Set<string>();
  const out: Array<{ file: string; specifier: string }> = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const specifier = (m[1] ?? m[2] ?? m[3])!;
      out.push({ file: relative(SRC, file), specifier });
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier));
    }
  };
  visit(entry);
  return out;
}

describe('browser safety', () => {
  it('nothing reachable from src/index.ts imports node: modules or Node built-ins', () => {
    const imports = reachableImports(join(SRC, 'index.ts'));
    const files = new Set(imports.map((i) => i.file));
    for (const mine of ['policy.ts', 'manifest.ts', 'providers-registry.ts', 'schemas/index.ts']) expect(files, mine).toContain(mine);
    const nodeOnly = imports.filter(({ specifier }) => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!));
    expect(nodeOnly).toEqual([]);
    const intoNodeFolder = imports.filter(({ specifier, file }) => join(dirname(file), specifier).startsWith('node/'));
    expect(intoNodeFolder).toEqual([]);
  });
});
