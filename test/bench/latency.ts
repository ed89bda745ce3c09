/**
 * `promethean bench latency`: speaker to ear, in real Chromium.
 *
 * One signal for every row: 48 kHz mono, silence with 300 ms tone bursts (1 kHz, peak 0.3) every
 * 1.2 s, each burst starting exactly on a 20 ms frame boundary, so one known Opus frame carries each
 * burst's first samples (encoded by libopus through @discordjs/opus at 64 kb/s, as the stand-in does).
 * Silence is sent as encoded frames too (no DTX), so the packet of each onset frame really goes out
 * and the receiver's jitter buffer sees a steady stream.
 *
 * Rows:
 * - `latency speaker→ear <driver>`: the whole product. A stand-in speaker plays the signal (test/e2e
 *   stack: the in-process stand-in and `promethean start` pointed at it); the console, signed in and
 *   listening, plays the track; the bench's detector (latency-page.ts) runs on the same MediaStream.
 *   Send time: the stand-in's send log (`sentAt`, when the onset frame's packet was handed to the
 *   UDP socket towards the bridge), matched to the onset frames by (sequence, due time) from the
 *   speaker manager's `frame` events (the first loud frame after silence).
 * - `baseline: latency raw node→chromium floor`: no bridge, no SFU. A werift RTCPeerConnection in
 *   this process, configured like the SFU's listeners, sends the same Opus frames (same pacing: a 5 ms
 *   scheduler tick, as the stand-in's; encoded silence between plays, as the stand-in's speaker is
 *   already talking) straight to a page's RTCPeerConnection that plays it the same way; send time =
 *   just after `writeRtp` of the onset frame.
 *
 * The floor runs at the same time as each driver's row (its bursts half a period later), so both see
 * the same machine: on a shared box the load moves within a minute, and a floor measured before or
 * after would compare different conditions. The driver row's baseline is the floor measured beside
 * it; the floor row pools every floor burst of the run.
 *
 * Clocks: send times are this process' `performance.timeOrigin + performance.now()` (the stand-in's
 * clock is `performance.now()` of this process minus a constant, read off `speakers.now()`);
 * detections are the page's `performance.timeOrigin + performance.now()`. Both are wall-clock based
 * on one machine; their offset is measured anyway, before and after each play, with 25 round trips
 * through `page.evaluate` (the reading of the fastest one put at its midpoint, ± half its round
 * trip), and the mean of the two is subtracted.
 *
 * Value = p95 in ms over every burst (25; 8 with --quick), with p50 and p95 fields. Detection time is
 * when the page's main thread receives the worklet's onset message; its resolution is the detector
 * context's render callback period (2.7 ms: one quantum per callback, measured and printed in the
 * log). The log also prints the same statistics for the onset sample's output time
 * (getOutputTimestamp), which adds the detector context's own output buffering.
 *
 * Drivers: {@link DRIVERS}, each run as `promethean start --sfu <name>`; a driver that cannot run here
 * (mediasoup without its worker binary) is skipped with a line in the log.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { MediaStreamTrack as WeriftTrack, RTCPeerConnection as WeriftPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { encodeWavS16 } from '@promethean/standin';
import { listenerPeerConfig } from '../../server/src/sfu/werift/media/peer-config.ts';
import { resolveSfuOptions } from '../../server/src/sfu/options.ts';
import type { SfuDriverName } from '../../server/src/sfu/types.ts';
import { mediasoupAvailable } from '../../server/src/sfu/mediasoup/worker-bin.ts';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { startStack } from '../e2e/stack.ts';
import { allCpus, canPin, withAffinity } from './affinity.ts';
import { allowDetector, installDetector, measureClockOffset, nodeWallMs, readOnsets, removeDetector, renderPeriodMs, type ClockOffset, type PageOnset } from './latency-page.ts';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { encode(pcm: Buffer): Buffer; setBitrate(bps: number): void };
};

/**
 * The drivers measured, one `speaker→ear` row each, started with `promethean start --sfu <driver>`;
 * each says why it cannot run here, or undefined when it can.
 */
export const DRIVERS: Record<SfuDriverName, () => string | undefined> = {
  werift: () => undefined,
  mediasoup: () => (mediasoupAvailable() ? undefined : 'no mediasoup worker binary (scripts/build-mediasoup-worker.sh)'),
};

const RATE = 48_000;
const FRAME = 960; // 20 ms
const FRAME_MS = 20;

/** The test signal. Times are multiples of 20 ms so every burst starts on a frame boundary. */
interface Plan {
  /** Silence before the first burst, ms. */
  leadMs: number;
  periodMs: number;
  burstMs: number;
  /** Silence after the last burst, ms. */
  tailMs: number;
  bursts: number;
  hz: number;
  amplitude: number;
}

function planFor(quick: boolean): Plan {
  return { leadMs: 2000, periodMs: 1200, burstMs: 300, tailMs: 1000, bursts: quick ? 8 : 25, hz: 1000, amplitude: 0.3 };
}

/** Frame index (from the start of the signal) of each burst's first frame. */
function onsetFrames(p: Plan): number[] {
  return Array.from({ length: p.bursts }, (_, i) => (p.leadMs + i * p.periodMs) / FRAME_MS);
}

function signal(p: Plan): Int16Array {
  const total = ((p.leadMs + p.bursts * p.periodMs + p.tailMs) / 1000) * RATE;
  const out = new Int16Array(total);
  const burst = (p.burstMs / 1000) * RATE;
  for (const f of onsetFrames(p)) {
    const start = f * FRAME;
    for (let i = 0; i < burst; i++) out[start + i] = Math.round(p.amplitude * 32767 * Math.sin((2 * Math.PI * p.hz * i) / RATE));
  }
  return out;
}

/** The signal as Opus frames, encoded like the stand-in encodes (48 kHz stereo, 64 kb/s). */
function encodeFrames(pcm: Int16Array): Buffer[] {
  const enc = new OpusEncoder(RATE, 2);
  enc.setBitrate(64_000);
  const frames: Buffer[] = [];
  for (let off = 0; off + FRAME <= pcm.length; off += FRAME) {
    const stereo = new Int16Array(FRAME * 2);
    for (let i = 0; i < FRAME; i++) stereo[2 * i] = stereo[2 * i + 1] = pcm[off + i]!;
    frames.push(enc.encode(Buffer.from(stereo.buffer)));
  }
  return frames;
}

/**
 * Onset = first sample ≥ 0.05 (the tone peaks at 0.3; decoded silence stays far below) after 300 ms
 * under it. latencyHint 1 ms: Chromium then renders one 128-sample quantum per callback (2.67 ms at
 * 48 kHz) instead of ~10 ms batches, which is the detector's time resolution.
 */
const DETECTOR = { threshold: 0.05, quietMs: 300, latencyHintS: 0.001 };

interface Measured {
  /** Send → page detection (main thread), ms, one per burst detected. */
  detect: number[];
  /** Send → output time of the onset sample, ms. */
  output: number[];
  missed: number;
  spurious: number;
  offset: ClockOffset & { driftMs: number };
  renderPeriodMs: number;
}

/**
 * Pairs each onset's send time (this process' wall clock) with the first detection after it, within
 * 80 % of a burst period; detections are converted to this process' clock with the measured offset.
 */
function match(sends: number[], onsets: PageOnset[], offset: ClockOffset & { driftMs: number }, periodMs: number, renderPeriod: number): Measured {
  const dets = onsets.map((o) => ({ detect: o.detectMs - offset.offsetMs, output: o.outputMs - offset.offsetMs })).sort((a, b) => a.detect - b.detect);
  const used = new Set<number>();
  const detect: number[] = [];
  const output: number[] = [];
  let missed = 0;
  for (const s of [...sends].sort((a, b) => a - b)) {
    const i = dets.findIndex((d, k) => !used.has(k) && d.detect >= s && d.detect < s + 0.8 * periodMs);
    if (i < 0) {
      missed++;
      continue;
    }
    used.add(i);
    detect.push(dets[i]!.detect - s);
    output.push(dets[i]!.output - s);
  }
  return { detect, output, missed, spurious: dets.length - used.size, offset, renderPeriodMs: renderPeriod };
}

/** The offsets measured before and after a run: their mean, the larger uncertainty, and how far they moved. */
function combine(before: ClockOffset, after: ClockOffset): ClockOffset & { driftMs: number } {
  return { offsetMs: (before.offsetMs + after.offsetMs) / 2, rttMs: Math.max(before.rttMs, after.rttMs), driftMs: after.offsetMs - before.offsetMs };
}

function percentile(values: number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

function describe(m: Measured): string {
  const f = (a: number[]) => `p50 ${percentile(a, 0.5).toFixed(1)} / p95 ${percentile(a, 0.95).toFixed(1)} / max ${Math.max(...a).toFixed(1)} ms`;
  return (
    `${m.detect.length} bursts detected (${m.missed} missed, ${m.spurious} spurious); page detection ${f(m.detect)}; ` +
    `onset sample's output time ${f(m.output)}; clock offset page−node ${m.offset.offsetMs.toFixed(2)} ms ± ${(m.offset.rttMs / 2).toFixed(2)} ms ` +
    `(moved ${m.offset.driftMs.toFixed(2)} ms during the run); ` +
    `render callback period ${m.renderPeriodMs.toFixed(1)} ms`
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------------
// baseline: werift in Node → Chromium, nothing in between

const FLOOR_PAGE = '<!doctype html><meta charset="utf-8"><title>latency floor</title><audio id="floor" autoplay></audio>';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

/** One path under measurement, set up and connected, its detector running. */
interface Session {
  /** Plays the signal from its top; resolves once its last frame has been sent. */
  play(): Promise<void>;
  /** The onsets of the last `play()`, matched to what the page detected. */
  result(): Promise<Measured>;
  close(): Promise<void>;
}

async function openFloor(browser: BrowserContext, plan: Plan, frames: Buffer[], ctx: BenchContext): Promise<Session> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(FLOOR_PAGE);
  });
  const origin = await listen(server);
  const page = await browser.newPage();
  const pc = new WeriftPeerConnection(listenerPeerConfig(resolveSfuOptions({})));
  let timer: ReturnType<typeof setInterval> | undefined;
  const close = async () => {
    clearInterval(timer);
    await pc.close().catch(() => undefined);
    await page.close().catch(() => undefined);
    server.close();
  };
  try {
    await allowDetector(page);
    await page.goto(origin);
    const track = new WeriftTrack({ kind: 'audio' });
    pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription?.sdp;
    if (!offer) throw new Error('werift produced no offer');
    const answer = await page.evaluate(async (sdp) => {
      const peer = new RTCPeerConnection();
      (window as unknown as { __floorPc: RTCPeerConnection }).__floorPc = peer;
      peer.ontrack = (e) => {
        const audio = document.getElementById('floor') as HTMLAudioElement;
        audio.srcObject = new MediaStream([e.track]);
        void audio.play();
      };
      await peer.setRemoteDescription({ type: 'offer', sdp });
      await peer.setLocalDescription(await peer.createAnswer());
      if (peer.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve) => peer.addEventListener('icegatheringstatechange', () => peer.iceGatheringState === 'complete' && resolve()));
      }
      return peer.localDescription!.sdp;
    }, offer);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const deadline = Date.now() + 15_000;
    while (pc.connectionState !== 'connected') {
      if (Date.now() > deadline) throw new Error(`the floor's peer connection did not connect (${pc.connectionState})`);
      await sleep(20);
    }
    // Like a speaker that is already talking (the stand-in's is): encoded silence flows from now
    // on, and play() puts the signal's frames in its place. Paced like the stand-in: a 5 ms tick
    // sends every 20 ms frame that is due.
    const silence = frames[0]!; // the signal starts with silence
    const onsets = new Set(onsetFrames(plan));
    let sends: number[] = [];
    let playing: { from: number; done: () => void } | undefined;
    let frame = 0;
    const t0 = performance.now() + 20;
    timer = setInterval(() => {
      const now = performance.now();
      while (t0 + frame * FRAME_MS <= now) {
        const i = playing ? frame - playing.from : -1;
        const header = new RtpHeader({ payloadType: 111, sequenceNumber: (1000 + frame) & 0xffff, timestamp: (frame * FRAME) >>> 0, marker: frame === 0 });
        track.writeRtp(new RtpPacket(header, i >= 0 ? frames[i]! : silence));
        if (i >= 0 && onsets.has(i)) sends.push(nodeWallMs());
        if (i === frames.length - 1) {
          playing!.done();
          playing = undefined;
        }
        frame++;
      }
    }, 5);
    await installDetector(page, '#floor', DETECTOR);
    const period = await renderPeriodMs(page);
    let before: ClockOffset = await measureClockOffset(page);
    return {
      async play() {
        await readOnsets(page);
        sends = [];
        await new Promise<void>((resolve) => (playing = { from: frame, done: resolve }));
      },
      async result() {
        const seen = await readOnsets(page);
        const after = await measureClockOffset(page);
        const offset = combine(before, after);
        before = after;
        ctx.log(`latency: floor sent ${sends.length} onsets`);
        return match(sends, seen, offset, plan.periodMs, period);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------
// the product: stand-in speaker → bridge → SFU → console

interface SpeakerFrameView {
  speaker: { name: string; ssrc: number };
  sequence: number;
  dueAt: number;
  levelDbov: number;
}

async function trackUsers(page: Page): Promise<string[]> {
  return page.evaluate(() => ((window as unknown as { __promethean?: { tracks(): { user_id: string }[] } }).__promethean?.tracks() ?? []).map((t) => t.user_id));
}

async function openProduct(driver: SfuDriverName, browser: BrowserContext, plan: Plan, wav: string, ctx: BenchContext): Promise<Session> {
  ctx.log(`latency: starting the stack (stand-in + promethean start, ${driver})`);
  const stack = await startStack({ speakers: { tone: wav }, startArgs: ['--sfu', driver] });
  const page = await browser.newPage();
  const close = async () => {
    await page.close().catch(() => undefined);
    await stack.close();
  };
  try {
    await allowDetector(page);
    await page.goto(stack.link);
    const speaker = stack.standin.speakers.get('tone');
    if (!speaker) throw new Error('the stand-in has no speaker "tone"');
    await page.getByRole('button', { name: 'Listen to all' }).click({ timeout: 60_000 });
    const deadline = Date.now() + 60_000;
    while (!(await trackUsers(page)).includes(speaker.userId)) {
      if (Date.now() > deadline) throw new Error('the console never received the speaker\'s track');
      await sleep(200);
    }
    const selector = `#promethean-audio audio[data-speaker="${speaker.userId}"]`;
    await page.waitForSelector(selector, { state: 'attached', timeout: 30_000 });
    await installDetector(page, selector, DETECTOR);
    const period = await renderPeriodMs(page);
    let before: ClockOffset = await measureClockOffset(page);
    // The stand-in's clock is this process' performance.now() minus a constant.
    const standinZero = performance.now() - stack.standin.speakers.now();
    // Onset frames: the first loud frame of the speaker after a silent one, from a restart at the top.
    let onsetKeys: { sequence: number; dueAt: number }[] = [];
    let previousQuiet = true;
    const onFrame = (f: SpeakerFrameView) => {
      if (f.speaker.name !== 'tone') return;
      const loud = f.levelDbov < 60;
      if (loud && previousQuiet) onsetKeys.push({ sequence: f.sequence, dueAt: f.dueAt });
      previousQuiet = !loud;
    };
    return {
      async play() {
        await readOnsets(page); // forget the autoplay loop's bursts
        onsetKeys = [];
        previousQuiet = true;
        stack.standin.speakers.on('frame', onFrame); // then, in the same tick, restart the signal from its top
        try {
          await stack.standin.speakers.play('tone', { loop: false });
        } finally {
          stack.standin.speakers.off('frame', onFrame);
        }
      },
      async result() {
        const seen = await readOnsets(page);
        const after = await measureClockOffset(page);
        const offset = combine(before, after);
        before = after;
        const log = stack.standin.sendLog.entries({ ssrc: speaker.ssrc });
        const sends: number[] = [];
        let unsent = 0;
        for (const k of onsetKeys) {
          const e = log.find((x) => x.sequence === k.sequence && x.dueAt === k.dueAt);
          if (!e || e.sentAt === undefined || e.dropped || e.recipients < 1) {
            unsent++;
            continue;
          }
          sends.push(performance.timeOrigin + standinZero + e.sentAt);
        }
        ctx.log(`latency: ${driver}: the stand-in sent ${sends.length} onset packets (${unsent} onset frames not sent or not logged)`);
        if (onsetKeys.length !== plan.bursts) ctx.log(`latency: ${driver}: expected ${plan.bursts} onset frames, the speaker produced ${onsetKeys.length}`);
        return match(sends, seen, offset, plan.periodMs, period);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------

const suite: BenchSuite = {
  name: 'latency',
  description: 'speaker → ear in Chromium (stand-in → bridge → SFU → console), p50/p95 over tone bursts; raw werift → Chromium floor as baseline',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    if (!chromiumAvailable()) throw new Error('latency needs Chromium (/usr/bin/chromium or CHROMIUM_PATH)');
    // Earlier suites may have pinned this process; the browser and the stack inherit it.
    return withAffinity(canPin ? allCpus() : '0', async () => {
      const plan = planFor(ctx.quick);
      const pcm = signal(plan);
      const dir = await mkdtemp(join(tmpdir(), 'promethean-latency-'));
      const wav = join(dir, 'bursts.wav');
      await writeFile(wav, encodeWavS16(pcm, RATE, 1));
      const frames = encodeFrames(pcm);
      const browser = await launchChromium();
      try {
        const rows: BenchRow[] = [];
        const floorAll: number[] = [];
        for (const [driver, unavailable] of Object.entries(DRIVERS) as [SfuDriverName, () => string | undefined][]) {
          const why = unavailable();
          if (why) {
            ctx.log(`latency: ${driver}: skipped — ${why}`);
            continue;
          }
          ctx.log(`latency: speaker→ear ${driver} and the floor (werift in Node → Chromium) side by side, ${plan.bursts} bursts each`);
          const product = await openProduct(driver, browser, plan, wav, ctx);
          let floorSession: Session | undefined;
          try {
            floorSession = await openFloor(browser, plan, frames, ctx);
            const floorPlays = floorSession;
            // Both at once, so both see the same machine; the floor's bursts half a period later.
            await Promise.all([product.play(), sleep(plan.periodMs / 2).then(() => floorPlays.play())]);
            await sleep(1000);
            const m = await product.result();
            const floor = await floorSession.result();
            ctx.log(`latency: ${driver}: ${describe(m)}`);
            ctx.log(`latency: floor beside ${driver}: ${describe(floor)}`);
            for (const [what, r] of [[driver, m], ['floor', floor]] as const) {
              if (r.detect.length < plan.bursts * 0.8) throw new Error(`${what}: detected only ${r.detect.length} of ${plan.bursts} bursts`);
            }
            floorAll.push(...floor.detect);
            rows.push({
              suite: 'latency',
              name: `latency speaker→ear ${driver}`,
              unit: 'ms',
              value: round2(percentile(m.detect, 0.95)),
              p50: round2(percentile(m.detect, 0.5)),
              p95: round2(percentile(m.detect, 0.95)),
              baseline: { name: 'raw node→chromium floor p95, measured alongside', value: round2(percentile(floor.detect, 0.95)) },
            });
          } finally {
            await floorSession?.close();
            await product.close();
          }
        }
        rows.push({
          suite: 'latency',
          name: 'baseline: latency raw node→chromium floor',
          unit: 'ms',
          value: round2(percentile(floorAll, 0.95)),
          p50: round2(percentile(floorAll, 0.5)),
          p95: round2(percentile(floorAll, 0.95)),
        });
        return rows;
      } finally {
        await browser.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
};

export default suite;
