#!/usr/bin/env node
// CI guard: fails when a Discord token name or an import of provider helpers
// (`shared/src/providers/<provider>/*`) appears outside the access agents, or when runtime code
// imports the Discord stand-in (it is its own program, started by the supervisor).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where token names and provider helpers may appear. */
export const ACCESS_AGENT_DIRS = ['bridge/', 'server/src/access/'];
/** Also allowed to name tokens: config references, docs, CI, and tests that use fake secrets. */
const TOKEN_NAME_ALLOWED = [...ACCESS_AGENT_DIRS, 'providers.yml', '.ci/', 'test/', 'scripts/ci-guard', 'shared/fixtures/'];
/** Also allowed to import provider helpers: the helpers themselves and test code (the Discord stand-in plays Discord's side). */
const PROVIDER_IMPORT_ALLOWED = [...ACCESS_AGENT_DIRS, 'shared/src/providers/', 'test/', 'scripts/ci-guard'];

export const TOKEN_NAME_RE = /\bDISCORD_(?:BOT_)?TOKEN\b|\bDISCORD_[A-Z_]*SECRET\b/;
export const PROVIDER_IMPORT_RE = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"][^'"]*(?:@promethean\/shared\/providers\/|\/providers\/)[a-z0-9_-]+[^'"]*['"]/;

/** Runtime code: what runs in production processes. Tests beside it may use the stand-in. */
const RUNTIME_DIRS = ['shared/src/', 'server/src/', 'bridge/src/', 'web/src/', 'bin/'];
export const STANDIN_IMPORT_RE = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"][^'"]*(?:@promethean\/standin|test\/standin\/)[^'"]*['"]/;
const isTestFile = (file) => /\.test\.[cm]?[jt]sx?$/.test(file) || file.includes('/testdata/') || file.endsWith('.suite.ts');

const CODE_EXT = /\.(?:[cm]?[jt]sx?|json|ya?ml|sh|html|vue|svelte)$/;

function listFiles(root) {
  try {
    return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
  } catch {
    const out = [];
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === '.git' || name === '.data') continue;
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else out.push(relative(root, p));
      }
    };
    walk(root);
    return out;
  }
}

/** Returns one line per violation; an empty array means the tree is clean. */
export function findViolations(root) {
  const problems = [];
  for (const file of listFiles(root)) {
    if (file.endsWith('.md') || !CODE_EXT.test(file)) continue;
    let text;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (TOKEN_NAME_RE.test(line) && !TOKEN_NAME_ALLOWED.some((p) => file.startsWith(p))) {
        problems.push(`${file}:${i + 1}: Discord token name outside the access agents: ${line.trim().slice(0, 120)}`);
      }
      if (PROVIDER_IMPORT_RE.test(line) && !PROVIDER_IMPORT_ALLOWED.some((p) => file.startsWith(p))) {
        problems.push(`${file}:${i + 1}: provider helper imported outside the access agents: ${line.trim().slice(0, 120)}`);
      }
      if (STANDIN_IMPORT_RE.test(line) && RUNTIME_DIRS.some((p) => file.startsWith(p)) && !isTestFile(file)) {
        problems.push(`${file}:${i + 1}: runtime code imports the Discord stand-in (run it as its own program): ${line.trim().slice(0, 120)}`);
      }
    });
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..');
  const problems = findViolations(root);
  if (problems.length > 0) {
    console.error(`ci-guard: ${problems.length} violation(s):\n${problems.join('\n')}\nMove the code into an access agent (bridge/ or server/src/access/), start the stand-in as a program, or drop the reference.`);
    process.exit(1);
  }
  console.log('ci-guard: no token names or provider helper imports outside the access agents; no runtime import of the stand-in');
}
