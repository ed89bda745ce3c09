/** The isomorphic bus client (shared/src/bus) against the real hub, over Node's global WebSocket. */
import { afterEach, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type BusClientState, type Envelope, type ErrorEnvelope } from '@promethean/shared';
import { WebSocket as WsWebSocket } from 'ws';
import { startTempHub, type TempHub } from './testing.ts';
import { until } from '../../../test/support/until.ts';

let hub: TempHub | undefined;
const buses: BusClient[] = [];
afterEach(async () => {
  for (const b of buses.splice(0)) b.close();
  await hub?.dispose();
  hub = undefined;
});

function bus(token = hub!.agentKey, extra: Partial<ConstructorParameters<typeof BusClient>[0]> = {}): BusClient {
  const b = new BusClient({ url: hub!.url, token, initialBackoffMs: 20, maxBackoffMs: 200, ...extra });
  buses.push(b);
  return b;
}

const opts = { src: 'test', provider: 'discord', tenant: 'demo' };
const note = (n: number) => makeEnvelope('note', { n }, opts);

function collect(b: BusClient, pattern: string): { got: [Envelope, Uint8Array[]][]; sub: ReturnType<BusClient['subscribe']> } {
  const got: [Envelope, Uint8Array[]][] = [];
  const sub = b.subscribe(pattern, (e, a) => got.push([e, a]));
  return { got, sub };
}

describe('BusClient', () => {
  it('publishes and receives envelopes and binary attachments through wildcard subscriptions', async () => {
    hub = await startTempHub();
    const a = bus();
    await a.connect();
    const { got, sub } = collect(a, 'promethean.p.*.t.demo.>');
    await sub.ready;
    const pcm = new Uint8Array(1920).map((_, i) => (i * 7) & 0xff);
    a.publish(note(1));
    a.publish(makeEnvelope('voice.audio.pcm', {
      session_id: 's', user_id: 'u', ts_monotonic_ns: '5', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' },
      rtp: { ssrc: 3, seq: 4, timestamp: 960 }, attachment: 0,
    }, opts), [pcm]);
    a.publish(makeEnvelope('note', { n: 2 }, { ...opts, tenant: 'other' })); // not matched
    await until('both messages', () => got.length === 2, 5_000);
    expect(got[0]![0].payload).toEqual({ n: 1 });
    expect(got[0]![1]).toEqual([]);
    expect(got[1]![0].intent).toBe('voice.audio.pcm');
    expect(Buffer.from(got[1]![1][0]!).equals(Buffer.from(pcm))).toBe(true);
    sub();
    a.publish(note(3));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(2);
  });

  it('emits typed error envelopes for what the hub rejected, and rejects sub.ready with forbidden', async () => {
    hub = await startTempHub();
    const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
    const b = bus(token);
    const errors: ErrorEnvelope[] = [];
    b.on('error', (e) => errors.push(e));
    await b.connect();
    const sub = b.subscribe('promethean.p.*.t.other.>', () => undefined);
    await expect(sub.ready).rejects.toMatchObject({ code: 'forbidden' });
    b.publish({ ...note(1), dst: 'promethean.p.discord.t.demo.wrong' });
    await until('both errors', () => errors.length === 2, 5_000);
    expect(errors.map((e) => e.payload.code)).toEqual(['forbidden', 'topic_mismatch']);
  });

  it('reconnects after a hub restart and resubscribes; states go open → reconnecting → open', async () => {
    hub = await startTempHub();
    const { port, dataDir } = hub;
    const b = bus();
    const states: BusClientState[] = [];
    b.on('stateChange', (_o, n) => states.push(n));
    await b.connect();
    const { got, sub } = collect(b, 'promethean.p.discord.t.demo.note');
    await sub.ready;
    await hub.close();
    await b.entersState('reconnecting', 2000);
    hub = await startTempHub({ dataDir, port });
    await b.entersState('open', 5000);
    await until('the subscription', () => hub!.metrics().per_connection.some((c) => c.subscriptions === 1), 5_000);
    const other = bus();
    await other.connect();
    other.publish(note(42));
    await until('the message', () => got.length === 1, 5_000);
    expect(got[0]![0].payload).toEqual({ n: 42 });
    expect(states.slice(0, 4)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(b.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('keeps at most maxQueued messages while disconnected, dropping the oldest and counting them', async () => {
    hub = await startTempHub();
    const sink = bus();
    await sink.connect();
    const { got, sub } = collect(sink, 'promethean.p.discord.t.demo.note');
    await sub.ready;
    const b = bus(hub.agentKey, { maxQueued: 5 });
    for (let i = 0; i < 12; i++) b.publish(note(i)); // not connected yet: queued
    expect(b.stats).toMatchObject({ queued: 5, dropped: 7 });
    await b.connect();
    await until('five messages', () => got.length === 5, 5_000);
    expect(got.map(([e]) => (e.payload as { n: number }).n)).toEqual([7, 8, 9, 10, 11]);
    expect(b.stats.queued).toBe(0);
  });

  it('close() is idempotent; publish and subscribe afterwards throw InvalidStateError', async () => {
    hub = await startTempHub();
    const b = bus();
    await b.connect();
    b.close();
    b.close();
    expect(b.state).toBe('closed');
    expect(() => b.publish(note(1))).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    expect(() => b.subscribe('promethean.>', () => undefined)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    await expect(b.connect()).rejects.toMatchObject({ name: 'InvalidStateError' });
  });

  it('accepts an http:// URL for the hub and connects over ws://', async () => {
    hub = await startTempHub();
    const b = new BusClient({ url: `${hub.httpUrl}/bus`, token: hub.agentKey });
    buses.push(b);
    await b.connect();
    expect(b.state).toBe('open');
  });

  it('subscribe() throws bad_topic for a malformed pattern', () => {
    const b = new BusClient({ url: 'ws://127.0.0.1:9/bus', token: 't' });
    expect(() => b.subscribe('a.>.b', () => undefined)).toThrow(expect.objectContaining({ code: 'bad_topic' }));
    b.close();
  });

  it('reconnects and resubscribes after a slow-consumer disconnect (4008)', async () => {
    hub = await startTempHub({ socketHighWaterBytes: 16 * 1024, controlQueueMax: 16 });
    // The `ws` package's WebSocket has the browser API plus pause(); record instances to pause one.
    const sockets: WsWebSocket[] = [];
    class PausableWebSocket extends WsWebSocket {
      constructor(url: string, init?: { headers?: Record<string, string> }) {
        super(url, init);
        sockets.push(this);
      }
    }
    const b = bus(hub.agentKey, { WebSocket: PausableWebSocket as unknown as typeof globalThis.WebSocket });
    await b.connect();
    const { got, sub } = collect(b, 'promethean.p.discord.t.demo.note');
    await sub.ready;
    const pub = bus();
    await pub.connect();
    // The hub forgets the paused connection only once its close handshake ends, which can be after
    // the client has reconnected: wait for the new connection's subscription, not just any.
    const oldIds = new Set(hub.metrics().per_connection.map((c) => c.id));
    sockets[0]!.pause();
    const pad = 'x'.repeat(4000);
    for (let i = 0; i < 20_000 && hub.metrics().slow_disconnects === 0; i++) {
      pub.publish(makeEnvelope('note', { n: i, pad }, opts));
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));
    }
    await until('the slow-consumer disconnect', () => hub!.metrics().slow_disconnects === 1, 5_000);
    sockets[0]!.resume();
    await until('the reconnect', () => sockets.length === 2, 5_000);
    await b.entersState('open', 5000);
    await until('the new connection to subscribe', () => hub!.metrics().per_connection.some((c) => !oldIds.has(c.id) && c.subscriptions === 1), 5_000);
    const before = got.length;
    pub.publish(note(-1));
    await until('the message after the reconnect', () => got.length === before + 1, 5_000);
    expect(got.at(-1)![0].payload).toEqual({ n: -1 });
  });
});
