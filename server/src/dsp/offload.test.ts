/**
 * The DSP offload scheduler wired to the real hub and the real VAD worker: labelled speech (the JFK
 * phrases in noise) goes through the bus as the bridge sends it; the server segments it with no
 * browser, a console tab (played by FakeBrowserRunner, which runs the same detector) takes the lease
 * and publishes, it drops its connection and the server takes over. Segment indices stay unique and
 * contiguous across both handovers; a tab without the lease, and a duplicate, are refused by the hub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '@promethean/shared';
import { buildLabelledSpeech, type LabelledSpeech } from './labelled-speech.test-helpers.ts';
import { FakeBrowserRunner, ORIGIN_NS, SESSION, startOffloadRig, until, USER, type OffloadRig } from './offload.test-helpers.ts';
import { SERVER } from './lease-scheduler.ts';

const SR = 48000;

describe('DSP offload over the real hub', () => {
  let rig: OffloadRig;
  let labelled: LabelledSpeech;
  let s16: Int16Array;
  let runner: FakeBrowserRunner;
  /** Phase bounds in 48 kHz samples: server | browser | server. */
  let b1 = 0;
  let b2 = 0;
  const finals = () => rig.delivered.filter((d) => d.payload.open !== true);
  const holder = () => rig.offload.holder('discord', 'demo', SESSION, USER);
  const workerSegments = () => rig.vad.runtime.counters.segments ?? 0;

  beforeAll(async () => {
    rig = await startOffloadRig({ leaseMs: 1500, tickMs: 100 });
    labelled = buildLabelledSpeech(10);
    s16 = Int16Array.from(resample(labelled.signal, 16000, SR), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    // Cut between phrases, after each phrase's segment has ended (hang-over 320 ms + pad 96 ms).
    // Whole 20 ms frames, so the stream's clock (frames sent) stays equal to the position in the signal.
    b1 = Math.round(((labelled.speech[1]!.end + 0.8) * SR) / 960) * 960;
    b2 = Math.round(((labelled.speech[2]!.end + 0.8) * SR) / 960) * 960;
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('with no browser, the server worker segments the stream, indices from 0', async () => {
    expect(labelled.speech.length).toBeGreaterThanOrEqual(4);
    await rig.feed(s16, 0, b1);
    await until('the stream to be placed', () => holder() === SERVER);
    await until("the worker's segments delivered", () => finals().length === workerSegments());
    const got = finals();
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(got.every((d) => d.src === 'vad')).toBe(true);
    expect(got.map((d) => d.payload.index)).toEqual(got.map((_, i) => i));
  });

  it('a browser that advertises takes the lease, the worker pauses, and the browser continues the index', async () => {
    const before = finals().length;
    runner = await rig.runner();
    runner.advertise();
    await until('the lease to reach the browser', () => runner.leases.size === 1);
    await until('the worker to pause the stream', () => (rig.vad.runtime.counters.streams_offloaded ?? 0) === 1);
    expect(holder()).toBe(runner.holderId);
    expect(runner.leaseLog[0]!.nextIndex).toBe(before);
    const workerBefore = workerSegments();
    await rig.feed(s16, b1, b2);
    await until("the browser's segments delivered", () => runner.published > 0 && finals().length === before + runner.published);
    const mine = finals().slice(before);
    expect(mine.every((d) => d.src === runner.src && d.payload.runner_id === runner.runnerId)).toBe(true);
    expect(mine.map((d) => d.payload.index)).toEqual(mine.map((_, i) => before + i));
    expect(workerSegments()).toBe(workerBefore);
    // On the bridge's clock: the browser's segment starts where the third phrase does.
    const startS = Number(BigInt(mine[0]!.payload.ts_start_ns) - ORIGIN_NS) / 1e9;
    expect(Math.abs(startS - labelled.speech[2]!.start)).toBeLessThan(0.2);
  });

  it('the hub refuses a duplicate from the holder and any segment from a session without the lease', async () => {
    const last = finals().at(-1)!.payload;
    runner.publishSegment({ ...last });
    await until('the duplicate refused', () => runner.errors.length === 1);
    expect(runner.errors[0]).toMatchObject({ code: 'forbidden' });
    expect(runner.errors[0]!.message).toContain('duplicate');

    const other = await rig.runner();
    const next = (last.index ?? 0) + 1;
    other.publishSegment({ ...last, index: next, segment_id: last.segment_id.replace(/\.\d+$/, `.${next}`), runner_id: other.runnerId });
    await until('the non-holder refused', () => other.errors.length === 1);
    expect(other.errors[0]).toMatchObject({ code: 'forbidden' });
    expect(other.errors[0]!.message).toContain('holds no dsp: grant');
    // Nothing of either was delivered.
    expect(finals().at(-1)!.payload).toEqual(last);
    expect(rig.offload.counters.duplicate).toBe(1);
    expect(rig.offload.counters.not_holder).toBe(1);
    other.close();
  });

  it('the browser drops its connection: its lease expires and the server takes over from the next index', async () => {
    const before = finals().length;
    runner.close();
    await until('the lease back on the server', () => rig.leases.at(-1)?.holder === 'server').catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify({ leases: rig.leases.slice(-3), counters: rig.offload.counters })}`);
    });
    await until('the worker to resume the stream', () => (rig.vad.runtime.counters.streams_resumed ?? 0) === 1);
    expect(rig.leases.at(-1)!.next_index).toBe(before);
    const workerBefore = workerSegments();
    await rig.feed(s16, b2, s16.length);
    await until("the worker's segments delivered", () => workerSegments() > workerBefore && finals().length === before + workerSegments() - workerBefore);
    const tail = finals().slice(before);
    expect(tail.every((d) => d.src === 'vad')).toBe(true);
  });

  it('segment ids are unique and contiguous across both handovers, from three runs', () => {
    const got = finals();
    const epoch = got[0]!.payload.segment_id.split('.').at(-2);
    expect(got.map((d) => d.payload.index)).toEqual(got.map((_, i) => i));
    expect(got.map((d) => d.payload.segment_id)).toEqual(got.map((_, i) => `${SESSION}.${USER}.${epoch}.${i}`));
    expect(new Set(got.map((d) => d.payload.segment_id)).size).toBe(got.length);
    // server → browser → server, each at least once, in that order.
    const runs = got.map((d) => (d.src === 'vad' ? 'server' : 'browser')).filter((w, i, all) => i === 0 || all[i - 1] !== w);
    expect(runs).toEqual(['server', 'browser', 'server']);
    expect(rig.offload.counters.accepted).toBe(got.length);
    // Open-speech announcements were delivered only for indices that then finished.
    for (const d of rig.delivered.filter((x) => x.payload.open === true)) expect(d.payload.index).toBeLessThan(got.length);
  });
});
