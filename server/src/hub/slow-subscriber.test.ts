import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, makeEnvelope } from '@promethean/shared';
import { CLOSE_SLOW_CONSUMER } from './connection.ts';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';

let hub: TempHub | undefined;
const clients: RecordingClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

async function client(pattern?: string): Promise<RecordingClient> {
  const c = new RecordingClient(hub!.url, hub!.agentKey);
  clients.push(c);
  await c.opened();
  if (pattern) await c.subscribe(pattern);
  return c;
}

const opts = { src: 'test', provider: 'discord', tenant: 'demo' };
const pcm = new Uint8Array(1920);

function audioFrame(seq: number): Uint8Array {
  const env = makeEnvelope('voice.audio.pcm', {
    session_id: 's', user_id: 'u', ts_monotonic_ns: String(seq * 20_000_000), format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' },
    rtp: { ssrc: 1, seq: seq & 0xffff, timestamp: (seq * 960) % 2 ** 32 }, attachment: 0,
  }, opts);
  return encodeFrame({ ...env, corr: String(seq) }, [pcm]);
}

function controlEnvelope(seq: number): string {
  return JSON.stringify({ ...makeEnvelope('note', { pad: 'x'.repeat(1000) }, opts), corr: String(seq) });
}

const seqOf = (e: Record<string, unknown>) => Number(e.corr);

/**
 * Publishes in batches, waiting for the fast subscriber to catch up after each one, until `done()`
 * or `limit` messages. Returns how many were sent.
 */
async function publishUntil(pub: RecordingClient, fast: RecordingClient, make: (seq: number) => string | Uint8Array, done: () => boolean, limit: number): Promise<number> {
  let sent = 0;
  while (sent < limit && !done()) {
    for (let i = 0; i < 500; i++) pub.send(make(sent++));
    const target = sent;
    await fast.waitFor(() => fast.received.length - 1 >= target, 10_000); // -1: the subscribe ack
  }
  return sent;
}

describe('slow subscribers', () => {
  it('a paused audio subscriber loses the oldest frames (counted) while the others get every frame in order', async () => {
    hub = await startTempHub({ socketHighWaterBytes: 64 * 1024, mediaQueueMax: 32 });
    const slow = await client('promethean.p.discord.t.demo.voice.>');
    const fast = await client('promethean.p.discord.t.demo.voice.>');
    const pub = await client();
    slow.ws.pause();
    const sent = await publishUntil(pub, fast, audioFrame, () => hub!.metrics().dropped >= 100, 200_000);
    expect(hub.metrics().dropped).toBeGreaterThanOrEqual(100);
    // The fast subscriber got everything, in order, while the slow one was still paused.
    expect(fast.envelopes().map(seqOf)).toEqual(Array.from({ length: sent }, (_, i) => i));
    const slowConn = hub.metrics().per_connection.find((c) => c.dropped > 0)!;
    expect(slowConn.queue_depth).toBeLessThanOrEqual(32);
    expect(hub.metrics().slow_disconnects).toBe(0);
    slow.ws.resume();
    await slow.waitFor(() => slow.lastEnvelope()?.corr === String(sent - 1), 20_000);
    const got = slow.envelopes().map(seqOf);
    expect(got.length).toBe(sent - hub.metrics().dropped);
    for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
    expect(slow.ws.readyState).toBe(slow.ws.OPEN);
  });

  it('a paused control subscriber whose queue fills is disconnected with 4008 and a reason; nothing it got was dropped', async () => {
    hub = await startTempHub({ socketHighWaterBytes: 64 * 1024, controlQueueMax: 64 });
    const slow = await client('promethean.p.discord.t.demo.>');
    const fast = await client('promethean.p.discord.t.demo.>');
    const pub = await client();
    slow.ws.pause();
    const sent = await publishUntil(pub, fast, controlEnvelope, () => hub!.metrics().slow_disconnects > 0, 200_000);
    expect(hub.metrics().slow_disconnects).toBe(1);
    expect(hub.metrics().dropped).toBe(0);
    expect(fast.envelopes().map(seqOf)).toEqual(Array.from({ length: sent }, (_, i) => i));
    // More publishing after the disconnect does not reach or grow anything for the slow one.
    for (let i = 0; i < 100; i++) pub.send(controlEnvelope(sent + i));
    await fast.waitFor(() => fast.envelopes().length === sent + 100);
    slow.ws.resume();
    await slow.waitFor(() => slow.closeCode !== undefined, 20_000);
    expect(slow.closeCode).toBe(CLOSE_SLOW_CONSUMER);
    expect(slow.closeReason).toMatch(/slow consumer/);
    const got = slow.envelopes().map(seqOf);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i)); // a gap-free prefix
    expect(got.length).toBeLessThan(sent);
    for (let i = 0; i < 100 && hub.metrics().connections > 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hub.metrics().connections).toBe(2);
  });

  it('drops a peer that stops answering pings and keeps one that answers', async () => {
    hub = await startTempHub({ pingIntervalMs: 150 });
    const dead = await client('promethean.>');
    const live = await client('promethean.>');
    dead.ws.pause(); // reads nothing, so never answers a ping
    for (let i = 0; i < 100 && hub.metrics().ping_timeouts === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hub.metrics().ping_timeouts).toBe(1);
    expect(hub.metrics().connections).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    expect(hub.metrics().connections).toBe(1);
  });
});
