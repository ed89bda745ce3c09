/** The speech server as a supervised child (what `promethean start` runs): ready over IPC, restarted when it dies. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SupervisedChild } from '../../server/src/supervisor/child.ts';
import { OpenAiEndpoint } from '../../server/src/speech/openai-driver.ts';
import { defaultLocalSpeechServerOptions } from '../../server/src/speech/local-server.ts';
import { ROOT, speechInstalled } from './speech-support.ts';

const installed = speechInstalled();

describe.skipIf(!installed)('speech as a supervised child', { timeout: 120_000 }, () => {
  const lines: string[] = [];
  const child = new SupervisedChild(
    { name: 'speech', role: 'worker', script: join(ROOT, 'server/src/speech/main.ts'), args: [], env: { PROMETHEAN_SPEECH_PORT: '0' }, cwd: ROOT },
    { backoffInitialMs: 100, log: (l) => lines.push(l) },
    process.env,
  );
  afterAll(() => child.stop());

  it('reports its URL when ready, serves /v1/models, and comes back after its Python process is killed', async () => {
    const ready = await child.start();
    const url = String(ready.url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const ids = (await new OpenAiEndpoint({ name: 'local', baseUrl: url }).listModels()).map((m) => m.id);
    expect(ids).toContain('whisper-tiny.en');

    // Kill the Python server (the wrapper's child): the wrapper exits, the supervisor starts it again.
    const again = child.nextReady();
    const health = (await (await fetch(url.replace(/\/v1$/, '/health'))).json()) as { status: string; pid: number };
    expect(health.status).toBe('ok');
    expect(health.pid).not.toBe(child.pid);
    process.kill(health.pid, 'SIGKILL');
    const second = await again;
    expect(child.restarts).toBe(1);
    const ids2 = (await new OpenAiEndpoint({ name: 'local', baseUrl: String(second.url) }).listModels()).map((m) => m.id);
    expect(ids2).toContain('whisper-tiny.en');
  });
});

describe.skipIf(!installed)('the speech server\'s Python unit tests', { timeout: 120_000 }, () => {
  it('pass (python -m unittest in the speech environment)', () => {
    const r = spawnSync(join(defaultLocalSpeechServerOptions.venv, 'bin', 'python'), ['-m', 'unittest', 'discover', '-s', 'speech/tests', '-t', 'speech'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', PYTHONPATH: join(ROOT, 'speech') },
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(r.stderr).toMatch(/^Ran \d+ tests/m);
    expect(r.stderr).toMatch(/^OK$/m);
    expect(r.status).toBe(0);
  });
});

