/** Per-agent keys: each agent publishes only what its manifest declares, as itself; tap's key only reads; revoked keys are cut off. */
import { readFile, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope } from '@promethean/shared';
import { agentKeyPath, issueAgentKey, loadAgentKeys, revokeAgentKey } from './agent-keys.ts';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';

let hub: TempHub | undefined;
const clients: RecordingClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

async function client(token: string): Promise<RecordingClient> {
  const c = new RecordingClient(hub!.url, token);
  clients.push(c);
  await c.opened();
  return c;
}
const key = async (id: string) => (await readFile(agentKeyPath(hub!.dataDir, id), 'utf8')).trim();
const note = (src: string, intent = 'voice.play.pcm.out') =>
  makeEnvelope(intent, { session_id: 's', seq: 1, format: { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' }, data_b64: 'AAAA' } as never, { src, provider: 'discord', tenant: 'demo' });

describe('agent keys', () => {
  it('are 0600 files in a 0700 folder, recorded by hash only', async () => {
    hub = await startTempHub();
    await issueAgentKey(hub.dataDir, 'mixer', { outputs: ['voice.play.pcm.out'], readonly: false });
    const path = agentKeyPath(hub.dataDir, 'mixer');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(`${hub.dataDir}/keys`)).mode & 0o777).toBe(0o700);
    const [entry] = await loadAgentKeys(hub.dataDir);
    expect(entry).toMatchObject({ id: 'mixer', outputs: ['voice.play.pcm.out'], readonly: false });
    expect(await readFile(`${hub.dataDir}/keys/agents.json`, 'utf8')).not.toContain(await key('mixer'));
  });

  it('an agent publishes only its declared outputs, only as itself; a read-only key publishes nothing', async () => {
    hub = await startTempHub();
    await issueAgentKey(hub.dataDir, 'mixer', { outputs: ['voice.play.pcm.out', 'health'], readonly: false });
    await issueAgentKey(hub.dataDir, 'tap', { outputs: [], readonly: true });
    // The hub reloads agents.json when it changes.
    await expect.poll(async () => (await fetch(`${hub!.httpUrl}/metrics`, { headers: { authorization: `Bearer ${await key('tap')}` } })).status, { timeout: 5000 }).toBe(200);
    const sink = await client(hub.agentKey);
    await sink.subscribe('promethean.p.discord.t.demo.>');
    const mixer = await client(await key('mixer'));
    mixer.send(note('discord-voice-access')); // impersonation
    mixer.send(note('mixer', 'voice.debug.note')); // undeclared
    const ok = note('mixer');
    mixer.send(ok);
    await mixer.waitFor(() => mixer.errors().length === 2);
    expect(mixer.errors().map((e) => e.message)).toEqual(['src must be "mixer" for this key', 'mixer did not declare voice.debug.note among its outputs']);
    await sink.waitFor(() => sink.envelopes().length === 1);
    expect(sink.envelopes()[0]!.id).toBe(ok.id);

    const tap = await client(await key('tap'));
    await tap.subscribe('promethean.p.*.t.*.voice.>');
    tap.send(note('tap'));
    await tap.waitFor(() => tap.errors().length === 1);
    expect(tap.errors()[0]!.message).toBe('the key of tap is read-only');
  });

  it('revoking a key closes its connections and refuses it from then on', async () => {
    hub = await startTempHub();
    await issueAgentKey(hub.dataDir, 'mixer', { outputs: [], readonly: false });
    const secret = await key('mixer');
    await expect.poll(async () => (await fetch(`${hub!.httpUrl}/metrics`, { headers: { authorization: `Bearer ${secret}` } })).status, { timeout: 5000 }).toBe(200);
    const c = await client(secret);
    expect(await revokeAgentKey(hub.dataDir, 'mixer')).toBe(true);
    await c.waitFor(() => c.closeCode !== undefined, 5000);
    expect(c.closeCode).toBe(4001);
    await expect(new RecordingClient(hub.url, secret).opened()).rejects.toThrow('HTTP 401');
  });
});
