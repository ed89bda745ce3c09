import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BusConnection, busUrl, intentPattern, type BusEnvelope, type BusStatus, type WebSocketLike } from './bus.ts';

/** A scripted stand-in for the browser WebSocket: the test opens, closes and feeds it by hand. */
class ScriptedSocket implements WebSocketLike {
  binaryType: BinaryType = 'blob';
  readyState: 0 | 1 | 2 | 3 = 0;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  readonly sent: string[] = [];
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
  deliver(data: unknown): void {
    this.onmessage?.({ data } as MessageEvent);
  }
}

describe('BusConnection', () => {
  let sockets: ScriptedSocket[];
  let bus: BusConnection;
  let statuses: BusStatus[];
  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    statuses = [];
    bus = new BusConnection({
      url: 'ws://hub/bus',
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
      createSocket: (url) => {
        const s = new ScriptedSocket(url);
        sockets.push(s);
        return s;
      },
    });
    bus.on('status', (s) => statuses.push(s));
  });
  afterEach(() => {
    bus.close();
    vi.useRealTimers();
  });

  it('subscribes on open, with no token in the URL', () => {
    bus.subscribe('promethean.p.*.t.acme.voice.health');
    bus.connect();
    expect(sockets[0]!.url).toBe('ws://hub/bus');
    sockets[0]!.open();
    expect(sockets[0]!.sent.map((s) => JSON.parse(s))).toEqual([{ op: 'subscribe', pattern: 'promethean.p.*.t.acme.voice.health', ref: 's1' }]);
    expect(statuses).toEqual(['connecting', 'open']);
  });

  it('reconnects with growing, bounded delays and subscribes again after reconnecting', () => {
    bus.subscribe('p1');
    bus.connect();
    sockets[0]!.open();
    sockets[0]!.drop();
    expect(bus.status).toBe('reconnecting');
    vi.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop(); // refused: next delay doubles
    vi.advanceTimersByTime(199);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    for (let i = 0; i < 8; i++) {
      sockets.at(-1)!.drop();
      vi.advanceTimersByTime(1000); // never longer than maxMs
    }
    expect(sockets).toHaveLength(11);
    bus.subscribe('p2');
    sockets.at(-1)!.open();
    expect(sockets.at(-1)!.sent.map((s) => JSON.parse(s).pattern)).toEqual(['p1', 'p2']);
    expect(bus.failures).toBe(0);
    expect(statuses.at(-1)).toBe('open');
  });

  it('delivers envelopes, surfaces error envelopes, ignores acks, binary and junk', () => {
    const got: BusEnvelope[] = [];
    const errors: BusEnvelope[] = [];
    bus.on('envelope', (e) => got.push(e));
    bus.on('error', (e) => errors.push(e));
    bus.connect();
    sockets[0]!.open();
    const s = sockets[0]!;
    s.deliver(JSON.stringify({ op: 'ack', ref: 's1' }));
    s.deliver(new ArrayBuffer(8));
    s.deliver('{not json');
    s.deliver(JSON.stringify({ id: '1', tenant: 'acme', intent: 'voice.health', payload: { session_id: 'v1' } }));
    s.deliver(JSON.stringify({ id: '2', tenant: 'acme', intent: 'error', payload: { code: 'forbidden', message: 'no' } }));
    expect(got.map((e) => e.intent)).toEqual(['voice.health']);
    expect(errors.map((e) => e.payload)).toEqual([{ code: 'forbidden', message: 'no' }]);
    expect(s.binaryType).toBe('arraybuffer');
  });

  it('close() stops reconnecting and is idempotent', () => {
    bus.connect();
    sockets[0]!.drop();
    bus.close();
    bus.close();
    vi.advanceTimersByTime(10_000);
    expect(sockets).toHaveLength(1);
    expect(() => bus.subscribe('x')).toThrow(/closed/);
  });
});

describe('bus addresses', () => {
  it('maps the page origin to ws(s)://host/bus', () => {
    expect(busUrl('https://mods.example.org/login#token=secret')).toBe('wss://mods.example.org/bus');
    expect(busUrl('http://127.0.0.1:8787/')).toBe('ws://127.0.0.1:8787/bus');
  });
  it('builds tenant patterns, with * for an all-tenant session', () => {
    expect(intentPattern('acme', 'voice.members')).toBe('promethean.p.*.t.acme.voice.members');
    expect(intentPattern(null, 'voice.health')).toBe('promethean.p.*.t.*.voice.health');
  });
});
