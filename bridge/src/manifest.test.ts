import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '@promethean/shared/node';

describe('bridge agent manifest', () => {
  it('bridge/agent.yml is a valid access-agent manifest binding discord with the voice inputs expanded', async () => {
    const m = await loadManifest(fileURLToPath(new URL('../agent.yml', import.meta.url)));
    expect(m.id).toBe('discord-voice-access');
    expect(m.kind).toBe('access');
    expect(m.inputs).toEqual(['voice.control.join', 'voice.control.leave', 'voice.control.set-bitrate', 'voice.play.pcm.out', 'voice.play.opus', 'voice.listeners']);
    expect(m.outputs).toContain('voice.relay.streams');
    expect(m.outputs).toContain('voice.members');
    expect(m.health_interval_s).toBe(1);
  });
});
