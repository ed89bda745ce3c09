/**
 * `promethean models [list] [--verify] [--json]`: the models of `models/manifest.json` and whether each
 * is installed (sizes checked; sha256 too with --verify).
 * `promethean models install [name…]`: runs each model's install command (its `install` field, from the
 * checkout; `scripts/install-models.sh` for the cache's models), which prints its own progress, then
 * verifies what it installed.
 */
import { spawn } from 'node:child_process';
import { PrometheanError } from '@promethean/shared';
import { CHECKOUT_ROOT, checkModel, describeSource, findModel, loadModelManifest, modelCacheDir } from '../../embed/manifest.ts';
import type { ModelEntry, ModelStatus } from '../../embed/manifest.ts';
import { parseFlags, type Command } from '../args.ts';

const USAGE = `Usage: promethean models [list] [--verify] [--json] [--manifest FILE]
       promethean models install [name…] [--manifest FILE]

Lists the models of the model manifest (models/manifest.json) with their install state, or installs
them into the model cache (~/.cache/promethean/models, or PROMETHEAN_MODELS_DIR) with progress.

  --verify     hash every file against the manifest's sha256 (slower; sizes are always checked)
  --json       print the list as JSON
  --manifest   another manifest file (tests)`;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function describe(entry: ModelEntry, status: ModelStatus): string {
  const size = entry.size_bytes ?? entry.files.reduce((n, f) => n + f.bytes, 0);
  return `${entry.name.padEnd(24)} ${status.state.padEnd(10)} ${mib(size).padStart(10)}  ${entry.kind.padEnd(15)} ${describeSource(entry.source)}  (${entry.licence})`;
}

function runInstall(entry: ModelEntry, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', entry.install!], { cwd: CHECKOUT_ROOT, stdio: 'inherit', env });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { verify: { type: 'boolean' }, json: { type: 'boolean' }, manifest: { type: 'string' } });
  const manifest = await loadModelManifest(values.manifest);
  const cacheDir = modelCacheDir(process.env);
  const rows = [];
  for (const m of manifest.models) rows.push({ entry: m, status: await checkModel(m, cacheDir, values.verify === true) });
  if (values.json) {
    console.log(JSON.stringify({ cache: cacheDir, models: rows.map(({ entry, status }) => ({ ...status, licence: entry.licence, source: entry.source, sha256: entry.sha256, size_bytes: entry.size_bytes })) }, null, 2));
    return 0;
  }
  console.log(`model cache: ${cacheDir}`);
  for (const { entry, status } of rows) {
    console.log(describe(entry, status));
    for (const p of status.problems) console.log(`    ${p}`);
  }
  return 0;
}

async function install(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { manifest: { type: 'string' } }, true);
  const manifest = await loadModelManifest(values.manifest);
  const cacheDir = modelCacheDir(process.env);
  const wanted = positionals.length > 0 ? positionals.map((n) => findModel(manifest, n)) : manifest.models.filter((m) => m.install !== undefined);
  const env = { ...process.env, PROMETHEAN_MODELS_DIR: cacheDir };
  let failed = 0;
  for (const m of wanted) {
    if (!m.install) throw new PrometheanError('unsupported', `model "${m.name}" has no install command in the manifest (source ${describeSource(m.source)})`);
    console.error(`promethean models: installing ${m.name} (${m.install})`);
    const code = await runInstall(m, env);
    const status = await checkModel(m, cacheDir, true);
    console.log(describe(m, status));
    if (code !== 0 || status.state !== 'installed') {
      failed++;
      console.error(`promethean models: ${m.name} failed (exit ${code})${status.problems.length ? `: ${status.problems.join('; ')}` : ''}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the model manifest with install state; install models with progress',
  usage: USAGE,
  run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'install') return install(rest);
    if (sub === 'list') return list(rest);
    if (sub === undefined || sub.startsWith('-')) return list(argv);
    throw new PrometheanError('bad_flag', `unknown subcommand "${sub}" (list, install)`);
  },
};
