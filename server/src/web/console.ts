/**
 * Serves the moderator console (the Vite build in `web/dist`): `/` and `/login` answer its
 * `index.html`, `/assets/*` its hashed files (cached for a year). The page signs in with the login
 * link's fragment token, which never reaches the server in a URL. When the build is missing the
 * page says how to make it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Context, Hono } from 'hono';
import type { HubEnv } from '../hub/index.ts';

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Promethean Voice Bridge</title>
<body style="font:16px system-ui;margin:3rem auto;max-width:40rem"><h1>The console is not built</h1>
<p>Run <code>npm run build:web</code> (or restart <code>promethean start</code>, which builds it), then reload.</p></body></html>`;

/** Security headers for the console: same-origin everything, no framing, no referrer leaks. */
const HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; img-src 'self' http: https: data: blob:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function mountConsole(app: Hono<HubEnv>, distDir: string, cwd: string = process.cwd()): void {
  const index = join(distDir, 'index.html');
  const page = async (c: Context<HubEnv>) => {
    for (const [k, v] of Object.entries(HEADERS)) c.header(k, v);
    c.header('cache-control', 'no-store');
    if (!existsSync(index)) return c.html(NOT_BUILT, 503);
    return c.html(await readFile(index, 'utf8'));
  };
  app.get('/', page);
  app.get('/login', page);
  app.use(
    '/assets/*',
    serveStatic({
      // serveStatic resolves `root` against the working directory.
      root: relative(cwd, distDir) || '.',
      onFound: (_path, c) => {
        c.header('cache-control', 'public, max-age=31536000, immutable');
        c.header('x-content-type-options', 'nosniff');
      },
    }),
  );
}
