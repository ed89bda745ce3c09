/**
 * The local speech server for the speech end-to-end tests: started once per file from the speech
 * environment. Outside CI a missing environment skips the speech tests (with the reason printed);
 * under CI=true it fails them, since CI installs it (scripts/install-speech.sh).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLocalSpeechServerOptions, startLocalSpeechServer, type LocalSpeechServer } from '../../server/src/speech/local-server.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function speechInstalled(): boolean {
  const ok = existsSync(join(defaultLocalSpeechServerOptions.venv, 'bin', 'python')) && existsSync(defaultLocalSpeechServerOptions.modelsDir);
  if (!ok && process.env.CI !== 'true') console.warn(`speech tests skipped: no speech environment at ${defaultLocalSpeechServerOptions.venv} (run scripts/install-speech.sh)`);
  return ok || process.env.CI === 'true';
}

export function startSpeech(threads = 2): Promise<LocalSpeechServer> {
  return startLocalSpeechServer({ projectRoot: ROOT, threads, log: () => undefined, readyTimeoutMs: 180_000 });
}
