import { describe, expect, it } from 'vitest';
import { DspLeaseScheduler, SERVER } from './lease-scheduler.ts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}
const runner = (id: string, capacity: number, score = 1) => ({ id, backend: 'wasm', threads: 1, capacity, score });

describe('DspLeaseScheduler', () => {
  it('the server holds a stream while no browser can; a browser that advertises takes it', () => {
    const s = new DspLeaseScheduler({ now: clock().now });
    expect(s.addStream('alice')).toEqual([]);
    expect(s.holder('alice')).toBe(SERVER);
    expect(s.advertise(runner('b1', 4))).toEqual([{ stream: 'alice', from: SERVER, to: 'b1', nextIndex: 0 }]);
    expect(s.holder('alice')).toBe('b1');
  });

  it('segment ids stay unique and contiguous across handovers: server → browser → server', () => {
    const s = new DspLeaseScheduler({ now: clock().now });
    s.addStream('alice');
    const published: number[] = [];
    const publish = (who: string, index: number) => {
      if (s.accept('alice', who, index) === 'accepted') published.push(index);
    };
    publish(SERVER, 0);
    publish(SERVER, 1);
    const [take] = s.advertise(runner('b1', 1));
    expect(take!.nextIndex).toBe(2);
    publish(SERVER, 2); // the server's late result after the handover: refused
    expect(s.accept('alice', SERVER, 2)).toBe('not_holder');
    publish('b1', 2);
    publish('b1', 3);
    expect(s.accept('alice', 'b1', 3)).toBe('duplicate');
    expect(s.accept('alice', 'b1', 5)).toBe('gap');
    const [back] = s.leave('b1');
    expect(back).toEqual({ stream: 'alice', from: 'b1', to: SERVER, nextIndex: 4 });
    publish(SERVER, 4);
    expect(published).toEqual([0, 1, 2, 3, 4]);
  });

  it('a lease not renewed within leaseMs expires and the stream returns to the server', () => {
    const c = clock();
    const s = new DspLeaseScheduler({ now: c.now, leaseMs: 6000 });
    s.addStream('alice');
    s.advertise(runner('b1', 1));
    c.advance(5000);
    s.heartbeat('b1');
    c.advance(5000);
    expect(s.tick()).toEqual([]);
    c.advance(6001);
    expect(s.tick()).toEqual([{ stream: 'alice', from: 'b1', to: SERVER, nextIndex: 0 }]);
    expect(() => s.heartbeat('b1')).toThrow(/unknown DSP runner/);
  });

  it('a runner that falls behind loses its streams to another browser with room', () => {
    const s = new DspLeaseScheduler({ now: clock().now, maxLagMs: 2000 });
    s.addStream('alice');
    s.advertise(runner('fast', 1, 10));
    s.advertise(runner('slow', 1, 1));
    s.addStream('bob');
    expect([s.holder('alice'), s.holder('bob')]).toEqual(['fast', 'slow']);
    expect(s.heartbeat('slow', 5000)).toEqual([{ stream: 'bob', from: 'slow', to: SERVER, nextIndex: 0 }]);
    expect(s.holder('bob')).toBe(SERVER);
  });

  it('respects capacity and the dsp: grant (canHold), best score first', () => {
    const ranked = new DspLeaseScheduler({ now: clock().now });
    ranked.advertise(runner('low', 1, 1));
    ranked.advertise(runner('high', 1, 9));
    ranked.addStream('x');
    expect(ranked.holder('x')).toBe('high');
    ranked.addStream('y');
    ranked.addStream('z');
    expect([ranked.holder('y'), ranked.holder('z')]).toEqual(['low', SERVER]);

    const s = new DspLeaseScheduler({ now: clock().now, canHold: (r, stream) => !(r === 'b2' && stream === 'carol') });
    for (const st of ['alice', 'bob', 'carol']) s.addStream(st);
    s.advertise(runner('b2', 5, 9));
    expect(s.holder('carol')).toBe(SERVER);
    s.advertise(runner('b1', 1, 1));
    expect(s.holder('carol')).toBe('b1');
    expect([s.holder('alice'), s.holder('bob')]).toEqual(['b2', 'b2']);
    expect(s.accept('carol', 'b2', 0)).toBe('not_holder');
  });

  it('rejects the reserved id and bad capacity, and bounds runners and streams', () => {
    const s = new DspLeaseScheduler({ now: clock().now, maxRunners: 1, maxStreams: 1 });
    expect(() => s.advertise(runner(SERVER, 1))).toThrow(/reserved/);
    expect(() => s.advertise(runner('x', Number.NaN))).toThrow(/capacity/);
    s.advertise(runner('a', 1));
    expect(() => s.advertise(runner('b', 1))).toThrow(/more than 1/);
    s.addStream('s1');
    expect(() => s.addStream('s2')).toThrow(/more than 1/);
  });
});
