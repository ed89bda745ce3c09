import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheanError } from '../errors.ts';
import { loadManifest } from './manifest.ts';

async function rejection(promise: Promise<unknown>): Promise<PrometheanError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('expected a PrometheanError');
}

describe('loadManifest()', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promethean-manifest-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates agent.yml', async () => {
    const path = join(dir, 'agent.yml');
    await writeFile(path, 'id: vad\nkind: worker\nversion: 0.2.0\ninputs: [voice.audio.pcm]\noutputs: [voice.audio.segment]\ndurability: stateless\nidempotency_key: "{session_id}:{segment_id}"\n');
    const m = await loadManifest(path);
    expect(m.id).toBe('vad');
    expect(m.durability).toBe('stateless');
  });

  it('names the file, field and line of a bad manifest', async () => {
    const path = join(dir, 'bad.yml');
    await writeFile(path, 'id: vad\nkind: worker\nversion: 0.2.0\ncapabilities:\n  - provider.discord.voice\n');
    const error = await rejection(loadManifest(path));
    expect(error.code).toBe('bad_manifest');
    expect(error.path).toBe('capabilities.0');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/line 5/);
  });

  it('a missing file is bad_manifest', async () => {
    expect((await rejection(loadManifest(join(dir, 'none.yml')))).code).toBe('bad_manifest');
  });
});
