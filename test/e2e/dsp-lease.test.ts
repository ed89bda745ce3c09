/**
 * The DSP offload end to end, in real Chromium against the real stack (`promethean start` with the
 * stand-in speaking the JFK clip in a loop): with no tab the server's VAD worker segments the
 * speaker; a console tab (the offload is on by default, on the relay clock) takes the
 * stream's lease and publishes the segments its own VAD worker finds; the tab closes and the server
 * takes the stream back. Segment indices stay contiguous and ids unique across both handovers.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { Envelope, PayloadOf } from '@promethean/shared';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';
import { until } from '../../server/src/sfu/testing.ts';
import { PROJECT_ROOT, startStack, type Stack } from './stack.ts';
import { SileroModel } from '../../server/src/dsp/silero.ts';
import { VadStream, type TimedSegment } from '../../server/src/workers/vad/index.ts';

const SPEECH = join(PROJECT_ROOT, 'test', 'fixtures', 'audio', 'jfk_16k.wav');
const CHROMIUM = requires('chromium', chromiumAvailable(), 'apt-get install chromium');

type Segment = PayloadOf<'voice.audio.segment'>;

describe.skipIf(!CHROMIUM)("a console tab takes a stream's DSP lease, in Chromium", () => {
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let speaker: string;
  const leases: PayloadOf<'dsp.lease'>[] = [];
  const finals: Array<{ src: string; payload: Segment }> = [];
  const mine = (p: { session_id: string; user_id: string }) => p.session_id === stack.sessionId && p.user_id === speaker;
  /**
   * Reference segments on the bridge's clock: the server worker's detector (`VadStream`, Silero v5 on
   * onnxruntime-node) run here over every PCM frame of the speaker, whoever holds the lease.
   */
  const reference: TimedSegment[] = [];
  let referenceChain: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    // No speech server: nothing here needs transcripts, and Whisper would compete for the two cores.
    stack = await startStack({ speakers: { carol: SPEECH }, startArgs: ['--no-speech'], standin: { loop: true } });
    speaker = stack.standin.speakers.list().find((s) => s.name === 'carol')!.userId;
    const referenceVad = new VadStream(await SileroModel.load(), {});
    const subs = [
      stack.bus.subscribe(`promethean.p.*.t.${stack.tenant}.dsp.lease`, (e: Envelope) => {
        const p = e.payload as PayloadOf<'dsp.lease'>;
        if (mine(p)) leases.push(p);
      }),
      stack.bus.subscribe(`promethean.p.*.t.${stack.tenant}.voice.audio.pcm`, (e: Envelope, att: Uint8Array[]) => {
        const p = e.payload as PayloadOf<'voice.audio.pcm'>;
        if (!mine(p)) return;
        const a = att[p.attachment ?? 0]!;
        const pcm = new Int16Array(a.slice().buffer);
        referenceChain = referenceChain.then(async () => void reference.push(...(await referenceVad.push(pcm, BigInt(p.ts_monotonic_ns)))));
      }),
      stack.bus.subscribe(`promethean.p.*.t.${stack.tenant}.voice.audio.segment`, (e: Envelope) => {
        const p = e.payload as Segment;
        if (mine(p) && p.open !== true) finals.push({ src: e.src, payload: p });
      }),
    ];
    await Promise.all(subs.map((s) => s.ready));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('with no tab, the server worker segments the speaker from index 0', async () => {
    await until(async () => finals.length > 0, "the server's first segment", 90_000);
    expect(finals[0]!.src).toBe('vad');
    expect(finals[0]!.payload.index).toBe(0);
  }, 120_000);

  it('a tab that offers capacity takes the lease and publishes the next indices', async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    // The DSP offload is opt-in (web/src/dsp/offload.ts, dspOffloadEnabled): switch it on for this tab.
    await page.addInitScript(() => localStorage.setItem('promethean.dsp-offload', 'on'));
    await page.goto(stack.link);
    await page.getByRole('button', { name: 'Listen to all' }).click();
    await until(async () => leases.some((l) => l.holder?.startsWith('client:') === true), 'the lease to move to the tab', 60_000);
    const grant = leases.find((l) => l.holder?.startsWith('client:'))!;
    expect(grant.holder).toMatch(/^client:[0-9a-f]{16}\/[A-Za-z0-9_-]{8,64}$/);
    await until(async () => finals.some((f) => f.src.startsWith('client:')), "the tab's first segment", 90_000);
    const first = finals.find((f) => f.src.startsWith('client:'))!;
    expect(first.payload.runner_id).toBe(grant.holder!.split('/')[1]);
    expect(first.payload.index).toBe(grant.next_index);
    // On the bridge's clock (relay anchors): each of the tab's first three segments overlaps a segment
    // the reference detector finds in the bridge's PCM (on a receive-anchored clock it would sit on
    // the epoch, 10^18 ns away from the bridge's monotonic ns). How close the edges come depends on the
    // playout pair (AudioContext frame ↔ RTP timestamp, docs/dsp.md), which a loaded 2-core machine
    // with Chromium's fake audio output skews by up to seconds (measured), so the differences are
    // printed, not asserted.
    const tabSegments = () => finals.filter((f) => f.src.startsWith('client:')).slice(0, 3);
    const overlap = (r: TimedSegment, start: bigint, end: bigint) => (r.tsEndNs < end ? r.tsEndNs : end) - (r.tsStartNs > start ? r.tsStartNs : start);
    // The reference detector has finished every segment up to the tab's third once it finished one after it.
    await until(async () => tabSegments().length === 3 && reference.some((r) => r.tsStartNs > BigInt(tabSegments()[2]!.payload.ts_end_ns)), "the tab's first three segments and the reference past them", 60_000);
    expect(tabSegments().map((f) => f.payload.clock)).toEqual(['relay', 'relay', 'relay']);
    const ms = (ns: bigint) => Number(ns) / 1e6;
    const pairs = tabSegments().map((f) => {
      const start = BigInt(f.payload.ts_start_ns);
      const end = BigInt(f.payload.ts_end_ns);
      const best = reference.filter((r) => overlap(r, start, end) > 0n).sort((x, y) => Number(overlap(y, start, end) - overlap(x, start, end)))[0];
      return best ? { start: ms(start - best.tsStartNs), end: ms(end - best.tsEndNs) } : null;
    });
    const why = `tab − reference (ms) per segment: ${JSON.stringify(pairs)}; tab ${JSON.stringify(tabSegments().map((f) => [f.payload.ts_start_ns, f.payload.ts_end_ns]))}, reference ${JSON.stringify(reference.map((r) => [ms(r.tsStartNs), ms(r.tsEndNs)]))}`;
    expect(pairs.every((p) => p !== null), why).toBe(true);
    console.log(`dsp-lease: ${why}`);
  }, 200_000);

  it('the tab closes: the server takes the stream back and indices stay contiguous across both handovers', async () => {
    const count = finals.length;
    await page.close({ runBeforeUnload: true });
    await until(async () => leases.at(-1)?.holder === 'server', 'the lease back on the server', 30_000);
    await until(async () => finals.slice(count).some((f) => f.src === 'vad'), "the server's next segment", 90_000);
    const indices = finals.map((f) => f.payload.index);
    expect(indices).toEqual(finals.map((_, i) => i));
    expect(new Set(finals.map((f) => f.payload.segment_id)).size).toBe(finals.length);
    const runs = finals.map((f) => (f.src === 'vad' ? 'server' : 'tab')).filter((w, i, all) => i === 0 || all[i - 1] !== w);
    expect(runs).toEqual(['server', 'tab', 'server']);
  }, 150_000);
});
