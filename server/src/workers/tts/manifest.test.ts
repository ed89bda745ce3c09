import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '@promethean/shared/node';

describe('TTS worker manifest', () => {
  it('agent.yml is a tokenless worker that reads replies and writes play requests only', async () => {
    const m = await loadManifest(fileURLToPath(new URL('./agent.yml', import.meta.url)));
    expect(m).toMatchObject({ id: 'tts', kind: 'worker', inputs: ['duck.reply.message'], outputs: ['voice.play.pcm', 'health', 'error'] });
    expect(m.capabilities.some((c) => c.kind === 'provider')).toBe(false);
  });
});
