import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '@promethean/shared/node';

const file = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

describe('text worker manifests', () => {
  it('the message indexer declares exactly what it publishes, and no provider capability', async () => {
    const m = await loadManifest(file('./agent.yml'));
    expect(m.kind).toBe('worker');
    expect([...m.outputs].sort()).toEqual(['error', 'health', 'jobs.backfill.messages.done', 'jobs.backfill.messages.error', 'jobs.backfill.messages.progress', 'rest.request']);
    expect(m.capabilities.some((c) => String(c).startsWith('provider.'))).toBe(false);
  });

  it('the attachment indexer publishes only health and errors', async () => {
    const m = await loadManifest(file('../attachments/agent.yml'));
    expect(m.kind).toBe('worker');
    expect([...m.outputs].sort()).toEqual(['error', 'health']);
    expect(m.capabilities.some((c) => String(c).startsWith('provider.'))).toBe(false);
  });
});
