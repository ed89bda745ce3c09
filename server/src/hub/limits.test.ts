/** Limits on what a browser session may send and hold: rates with typed errors, a connection cap. */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';

let hub: TempHub | undefined;
const clients: RecordingClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

describe('session limits', () => {
  it('a session flooding its connection gets one rate_limited error a second, the rest dropped and counted; the connection stays usable', async () => {
    hub = await startTempHub({ sessionLimits: { messagesPerS: 20, messageBurst: 40, bytesPerS: 1 << 20, byteBurst: 1 << 20 } });
    const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
    const c = new RecordingClient(hub.url, token);
    clients.push(c);
    await c.opened();
    for (let i = 0; i < 500; i++) c.send({ op: 'unsubscribe', pattern: 'promethean.p.discord.t.demo.health', ref: `u${i}` });
    await c.waitFor(() => c.errors().some((e) => e.code === 'rate_limited'));
    await expect.poll(() => hub!.metrics().rate_limited).toBeGreaterThanOrEqual(500 - 40 - 20);
    expect(c.errors().filter((e) => e.code === 'rate_limited')).toHaveLength(1);
    const acks = c.received.filter((m) => (m.json as { op?: string } | undefined)?.op === 'ack').length;
    expect(acks).toBeGreaterThanOrEqual(40);
    expect(acks + hub.metrics().rate_limited).toBe(500);
    expect(c.closeCode).toBeUndefined();
  });

  it('an agent key is not rate limited', async () => {
    hub = await startTempHub({ sessionLimits: { messagesPerS: 1, messageBurst: 1, bytesPerS: 1, byteBurst: 1 } });
    const c = new RecordingClient(hub.url, hub.agentKey);
    clients.push(c);
    await c.opened();
    for (let i = 0; i < 300; i++) c.send({ op: 'unsubscribe', pattern: 'promethean.p.discord.t.demo.health', ref: `u${i}` });
    await c.waitFor(() => c.received.length === 300);
    expect(hub.metrics().rate_limited).toBe(0);
  });

  it('one session may hold at most maxConnectionsPerPrincipal connections; one more gets 429', async () => {
    hub = await startTempHub({ maxConnectionsPerPrincipal: 3 });
    const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
    for (let i = 0; i < 3; i++) {
      const c = new RecordingClient(hub.url, token);
      clients.push(c);
      await c.opened();
    }
    await expect(new RecordingClient(hub.url, token).opened()).rejects.toThrow('HTTP 429');
    expect(hub.metrics().connection_cap).toBe(1);
    // Another session is not affected.
    const other = new RecordingClient(hub.url, hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token);
    clients.push(other);
    await other.opened();
  });
});
