/**
 * Builds the moderator console with Vite when its build is missing or older than its sources, with
 * progress on the log. `promethean start` calls it before starting the server; `npm run build:web`
 * runs the same build by hand.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PrometheanError } from '@promethean/shared';

/** The newest modification time under `dir` (recursively), 0 when it does not exist. */
async function newest(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  let max = statSync(dir).mtimeMs;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

/** Whether `web/dist` is missing or older than `web/src`, `web/index.html` or `web/vite.config.ts`. */
export async function consoleBuildStale(webDir: string): Promise<boolean> {
  const built = join(webDir, 'dist', 'index.html');
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  const sources = Math.max(await newest(join(webDir, 'src')), ...['index.html', 'vite.config.ts'].map((f) => (existsSync(join(webDir, f)) ? statSync(join(webDir, f)).mtimeMs : 0)));
  return sources > at;
}

/** Runs `vite build` for the console; resolves when done, rejects with what Vite printed. */
export function buildConsole(webDir: string, log: (line: string) => void): Promise<void> {
  const require = createRequire(join(webDir, 'package.json'));
  const vitePkg = require.resolve('vite/package.json');
  const bin = join(dirname(vitePkg), 'bin', 'vite.js');
  const started = Date.now();
  log('console: building web/ with Vite…');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'build', '--config', join(webDir, 'vite.config.ts'), '--logLevel', 'warn'], { cwd: webDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => reject(new PrometheanError('internal', `could not run Vite: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) {
        log(`console: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        resolve();
      } else {
        reject(new PrometheanError('internal', `building the console failed (vite exit ${code}):\n${out.trim()}\nFix the error above, or run \`npm run build:web\` to see it again.`));
      }
    });
  });
}

/** Builds the console when it is stale. */
export async function ensureConsoleBuilt(webDir: string, log: (line: string) => void): Promise<void> {
  if (await consoleBuildStale(webDir)) await buildConsole(webDir, log);
}
