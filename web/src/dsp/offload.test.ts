import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEnvelope, parseEnvelope } from '@promethean/shared';
import { BusConnection, type WebSocketLike } from '../net/bus.ts';
import type { BrowserSegment } from './analysis-protocol.ts';
import { capacityFor, DspRunner, dspOffloadEnabled, measureDspScore, segmentClock } from './offload.ts';

/** A fake of the browser WebSocket (none in Node): the test opens it and reads what was sent. */
class FakeSocket implements WebSocketLike {
  binaryType: BinaryType = 'blob';
  readyState: 0 | 1 | 2 | 3 = 0;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  readonly sent: string[] = [];
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
  deliver(env: object): void {
    this.onmessage?.({ data: JSON.stringify(env) } as MessageEvent);
  }
  /** Envelopes sent (control ops left out), each validated as the hub would. */
  envelopes(): ReturnType<typeof parseEnvelope>[] {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown>).filter((m) => !('op' in m)).map((m) => parseEnvelope(m));
  }
}

const SID = '0123456789abcdef';
const segment = (user: string, startNs: bigint): BrowserSegment => ({
  user_id: user,
  index: 0,
  ts_start_ns: startNs.toString(),
  ts_end_ns: (startNs + 900_000_000n).toString(),
  start_frame: 0,
  end_frame: 43_200,
  energy_rms: 0.1,
  snr: 12.345,
  threshold: 0.3,
  silence_ms: 320,
});

describe('DspRunner (the console tab as a DSP runner)', () => {
  let socket: FakeSocket;
  let bus: BusConnection;
  let runner: DspRunner;

  beforeEach(() => {
    vi.useFakeTimers();
    bus = new BusConnection({ url: 'ws://hub/bus', createSocket: () => (socket = new FakeSocket()) });
    bus.connect();
    socket.open();
    runner = new DspRunner();
    runner.bind(bus, SID, 'demo');
    runner.setRelayClock(true);
  });
  afterEach(() => {
    runner.leave();
    bus.close();
    vi.useRealTimers();
  });

  const lease = (holder: string | null, next: number) =>
    socket.deliver(makeEnvelope('dsp.lease', { session_id: 'vs-1', user_id: '42', holder, next_index: next, epoch_ms: 1700000000000, lease_ms: 6000 }, { src: 'server', provider: 'discord', tenant: 'demo' }));

  it('subscribes to leases and advertises a valid dsp.capacity as its session', () => {
    expect(socket.sent.map((s) => JSON.parse(s) as { op?: string; pattern?: string }).filter((m) => m.op === 'subscribe').map((m) => m.pattern)).toContain('promethean.p.*.t.demo.dsp.lease');
    const [cap] = socket.envelopes();
    expect(cap).toMatchObject({ intent: 'dsp.capacity', src: `client:${SID}`, tenant: 'demo', payload: { runner_id: runner.runnerId, backend: 'wasm', threads: 1 } });
    const p = cap!.payload as { score: number; capacity: number };
    expect(p.score).toBeGreaterThan(0);
    expect(p.capacity).toBe(capacityFor(p.score, 8));
  });

  it('renews by heartbeat every heartbeatMs', () => {
    vi.advanceTimersByTime(2000 * 3);
    const beats = socket.envelopes().filter((e) => e.intent === 'dsp.heartbeat');
    expect(beats).toHaveLength(3);
    expect(beats[0]!.payload).toEqual({ runner_id: runner.runnerId, lag_ms: 0 });
  });

  it('publishes only the streams it holds, numbered from the lease, and stops on revoke', () => {
    expect(runner.publish('vs-1', segment('42', 5_000_000_000n), 'relay')).toBe(false);
    lease(`client:${SID}/${runner.runnerId}`, 7);
    expect(runner.holds('vs-1', '42')).toBe(true);
    expect(runner.publish('vs-1', segment('42', 5_000_000_000n), 'relay')).toBe(true);
    expect(runner.publish('vs-1', segment('42', 7_000_000_000n), 'relay')).toBe(true);
    expect(runner.publish('vs-1', segment('43', 7_000_000_000n), 'relay')).toBe(false);
    const segs = socket.envelopes().filter((e) => e.intent === 'voice.audio.segment');
    expect(segs.map((e) => e.payload)).toEqual([
      expect.objectContaining({ session_id: 'vs-1', user_id: '42', index: 7, segment_id: 'vs-1.42.1700000000000.7', ts_start_ns: '5000000000', runner_id: runner.runnerId, snr: 12.35, clock: 'relay' }),
      expect.objectContaining({ index: 8, segment_id: 'vs-1.42.1700000000000.8' }),
    ]);
    expect(segs.every((e) => e.src === `client:${SID}`)).toBe(true);
    lease('server', 9);
    expect(runner.holds('vs-1', '42')).toBe(false);
    expect(runner.publish('vs-1', segment('42', 9_000_000_000n), 'relay')).toBe(false);
  });

  it("ignores another tab's lease and says dsp.leave when it goes", () => {
    lease(`client:${SID}/someoneElse1`, 0);
    expect(runner.holds('vs-1', '42')).toBe(false);
    runner.leave();
    expect(socket.envelopes().at(-1)).toMatchObject({ intent: 'dsp.leave', payload: { runner_id: runner.runnerId } });
    vi.advanceTimersByTime(10_000);
    expect(socket.envelopes().filter((e) => e.intent === 'dsp.heartbeat')).toHaveLength(0);
  });

  it('offers nothing until its session clock runs on relay anchors, and gives its leases back when it stops', () => {
    const other = new DspRunner();
    const before = socket.envelopes().length;
    other.bind(bus, SID, 'demo');
    vi.advanceTimersByTime(2000 * 2);
    expect(other.offering).toBe(false);
    expect(socket.envelopes().slice(before).filter((e) => e.payload && (e.payload as { runner_id?: string }).runner_id === other.runnerId)).toEqual([]);
    other.setRelayClock(true);
    expect(other.offering).toBe(true);
    expect(socket.envelopes().at(-1)).toMatchObject({ intent: 'dsp.capacity', payload: { runner_id: other.runnerId } });
    socket.deliver(makeEnvelope('dsp.lease', { session_id: 'vs-1', user_id: '42', holder: `client:${SID}/${other.runnerId}`, next_index: 0, epoch_ms: 1, lease_ms: 6000 }, { src: 'server', provider: 'discord', tenant: 'demo' }));
    expect(other.holds('vs-1', '42')).toBe(true);
    other.setRelayClock(false);
    expect(socket.envelopes().at(-1)).toMatchObject({ intent: 'dsp.leave', payload: { runner_id: other.runnerId } });
    expect(other.holds('vs-1', '42')).toBe(false);
    other.leave();
  });

  it('keeps a held stream\'s segment that is not on the relay clock to itself (counted), unless told not to care', () => {
    lease(`client:${SID}/${runner.runnerId}`, 0);
    expect(runner.publish('vs-1', segment('42', 5_000_000_000n), 'receive')).toBe(false);
    expect(runner.publish('vs-1', segment('42', 5_000_000_000n))).toBe(false);
    expect(runner.unclocked).toBe(2);
    expect(socket.envelopes().filter((e) => e.intent === 'voice.audio.segment')).toEqual([]);
    const lax = new DspRunner({ requireRelayClock: false });
    lax.bind(bus, SID, 'demo');
    expect(lax.offering).toBe(true);
    socket.deliver(makeEnvelope('dsp.lease', { session_id: 'vs-1', user_id: '7', holder: `client:${SID}/${lax.runnerId}`, next_index: 0, epoch_ms: 1, lease_ms: 6000 }, { src: 'server', provider: 'discord', tenant: 'demo' }));
    expect(lax.publish('vs-1', segment('7', 5_000_000_000n), 'receive')).toBe(true);
    expect(socket.envelopes().at(-1)).toMatchObject({ intent: 'voice.audio.segment', payload: { clock: 'receive', index: 0 } });
    lax.leave();
  });

  it('advertises again when the server no longer knows it (a refused heartbeat)', () => {
    const before = socket.envelopes().filter((e) => e.intent === 'dsp.capacity').length;
    socket.deliver(makeEnvelope<string>('error', { code: 'forbidden', message: 'unknown DSP runner', topic: 'promethean.p.discord.t.demo.dsp.heartbeat' }, { src: 'hub', provider: 'discord', tenant: 'demo' }));
    expect(socket.envelopes().filter((e) => e.intent === 'dsp.capacity').length).toBe(before + 1);
    expect(runner.refused).toBe(1);
  });
});

describe('the capacity score', () => {
  it('measureDspScore() is a positive rate; capacityFor() stays within 1 … max', () => {
    expect(measureDspScore(1)).toBeGreaterThan(0);
    expect(capacityFor(0, 8)).toBe(1);
    expect(capacityFor(450, 8)).toBe(4);
    expect(capacityFor(1e6, 8)).toBe(8);
  });
});

describe('switches and clocks', () => {
  it('dspOffloadEnabled(): off by default; on by ?dsp-offload(=on) or the stored switch, the address winning', () => {
    expect(dspOffloadEnabled('', null)).toBe(false);
    expect(dspOffloadEnabled('?x=1', null)).toBe(false);
    expect(dspOffloadEnabled('?dsp-offload', null)).toBe(true);
    expect(dspOffloadEnabled('?dsp-offload=off', null)).toBe(false);
    expect(dspOffloadEnabled('', 'off')).toBe(false);
    expect(dspOffloadEnabled('?dsp-offload=on', 'off')).toBe(true);
    expect(dspOffloadEnabled('?dsp-offload=off', 'on')).toBe(false);
    expect(dspOffloadEnabled('?x=1', 'on')).toBe(true);
  });

  it('segmentClock(): relay only for a speaker on relay anchors and a segment near its newest frame on that clock', () => {
    const stat = (clock: 'relay' | 'receive' | null, ns: string | null) => ({ user_id: '42', frames: 0, bytes: 0, first_ns: null, last_ns: null, overflowed: 0, clock, seen: 1, last_rtp: 0, newest: ns === null ? null : { ssrc: 1, rtp: 0, ns } });
    const seg = segment('42', 5_000_000_000n);
    expect(segmentClock(undefined, seg)).toBeNull();
    expect(segmentClock(stat(null, null), seg)).toBeNull();
    expect(segmentClock(stat('receive', '5500000000'), seg)).toBe('receive');
    expect(segmentClock(stat('relay', '5500000000'), seg)).toBe('relay');
    // stamped through an epoch (receive) pair before the anchor arrived: far from the bridge clock
    expect(segmentClock(stat('relay', '5500000000'), segment('42', 1_700_000_000_000_000_000n))).toBe('receive');
  });
});

