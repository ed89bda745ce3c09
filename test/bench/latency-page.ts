/**
 * The page side of `promethean bench latency`: an onset detector injected into a Chromium page, and
 * the offset between the page's clock and this process' clock.
 *
 * Detector: a tiny AudioWorklet in its own AudioContext (48 kHz, so no resampling, and a small
 * latencyHint, so it renders often), fed by the same MediaStream a page's `<audio>` element plays. It
 * sees every sample: after at least `quietMs` below the threshold, the first sample at or above it is
 * an onset; the worklet posts that sample's frame index. On the main thread the message is stamped
 * twice:
 *   - `detectMs`: `performance.now()` when the page receives it — when script in the page learns of
 *     the onset. Its resolution is the context's render callback period (Chromium renders 128-sample
 *     quanta in batches, one batch per device callback: ~10 ms with the default latencyHint, one
 *     quantum = 2.7 ms with a 1 ms hint; measured by {@link renderPeriodMs}) plus one postMessage hop;
 *   - `outputMs`: the onset sample's own context time mapped to performance time through
 *     `AudioContext.getOutputTimestamp()` — when that sample leaves the (fake) audio device, sample
 *     accurate, but it includes the Web Audio output buffering.
 * Both are kept as page wall-clock ms (`performance.timeOrigin + …`).
 *
 * The worklet's module is loaded from a blob: URL; {@link allowDetector} lets the console's CSP allow it.
 */
import type { Page } from 'playwright-core';

export interface DetectorOptions {
  /** Absolute sample value an onset must reach (the bench's tones peak at 0.3). */
  threshold: number;
  /** Quiet this long (below the threshold) re-arms the detector, ms. */
  quietMs: number;
  /**
   * The detector context's `latencyHint`, seconds: how much audio each render callback asks for,
   * hence how often the worklet runs (Chromium rounds it to whole 128-sample quanta).
   */
  latencyHintS: number;
}

export interface PageOnset {
  /** Page wall-clock ms when the page's main thread received the onset. */
  detectMs: number;
  /** Page wall-clock ms when the onset sample is played out (context time → getOutputTimestamp). */
  outputMs: number;
  /** Context frame of the onset sample. */
  frame: number;
}

/** The worklet module: posts the frame index of each onset (first loud sample after a quiet spell). */
const WORKLET_SOURCE = `
class PrometheanOnsetDetector extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.threshold = o.threshold;
    this.quietFrames = Math.round((o.quietMs / 1000) * sampleRate);
    this.quiet = 0;
    this.tick = o.tick === true;
  }
  process(inputs) {
    if (this.tick) {
      this.port.postMessage(currentFrame);
      return true;
    }
    const channel = inputs[0] && inputs[0][0];
    if (!channel) {
      this.quiet += 128;
      return true;
    }
    for (let i = 0; i < channel.length; i++) {
      const v = channel[i];
      if (v >= this.threshold || v <= -this.threshold) {
        if (this.quiet >= this.quietFrames) this.port.postMessage(currentFrame + i);
        this.quiet = 0;
      } else {
        this.quiet++;
      }
    }
    return true;
  }
}
registerProcessor('promethean-onset-detector', PrometheanOnsetDetector);
`;

/**
 * Lets this page load the worklet from a blob: URL: the console's CSP allows scripts from 'self' only,
 * and Playwright's request interception does not see worklet module fetches, so the page's CSP is
 * bypassed through the DevTools protocol (what Playwright's `bypassCSP` option does). Call before
 * navigating.
 */
export async function allowDetector(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
}

/**
 * Attaches a detector to the MediaStream played by the `<audio>` element `selector` matches. Onsets
 * collect in the page; read them with {@link readOnsets}. Resolves once the worklet runs.
 */
export async function installDetector(page: Page, selector: string, options: DetectorOptions): Promise<void> {
  await page.evaluate(
    async ({ selector, options, source }) => {
      const element = document.querySelector(selector) as HTMLAudioElement | null;
      const stream = element?.srcObject;
      if (!(stream instanceof MediaStream)) throw new Error(`no <audio> with a MediaStream matches ${selector}`);
      const ctx = new AudioContext({ sampleRate: 48_000, latencyHint: options.latencyHintS });
      const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      await ctx.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      const node = new AudioWorkletNode(ctx, 'promethean-onset-detector', { processorOptions: options, numberOfOutputs: 1 });
      const mute = ctx.createGain();
      mute.gain.value = 0;
      ctx.createMediaStreamSource(stream).connect(node);
      node.connect(mute).connect(ctx.destination); // pulled by the graph, heard nowhere
      const onsets: { detectMs: number; outputMs: number; frame: number }[] = [];
      node.port.onmessage = (e: MessageEvent<number>) => {
        const now = performance.now();
        const ts = ctx.getOutputTimestamp();
        const outputPerf = (ts.performanceTime ?? now) + (e.data / ctx.sampleRate - (ts.contextTime ?? 0)) * 1000;
        onsets.push({ detectMs: performance.timeOrigin + now, outputMs: performance.timeOrigin + outputPerf, frame: e.data });
      };
      if (ctx.state !== 'running') await ctx.resume();
      (window as unknown as { __benchOnsets: typeof onsets; __benchCtx: AudioContext }).__benchOnsets = onsets;
      (window as unknown as { __benchCtx: AudioContext }).__benchCtx = ctx;
    },
    { selector, options, source: WORKLET_SOURCE },
  );
}

/** Onsets the detector saw so far (and forgets them). */
export async function readOnsets(page: Page): Promise<PageOnset[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __benchOnsets?: { detectMs: number; outputMs: number; frame: number }[] };
    return (w.__benchOnsets ?? []).splice(0);
  });
}

/** Stops the detector's AudioContext. */
export async function removeDetector(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await (window as unknown as { __benchCtx?: AudioContext }).__benchCtx?.close();
  });
}

/**
 * The render callback period of the detector's context, ms (median gap between batches of render
 * quanta, seen from the main thread): the resolution of `detectMs`.
 */
export async function renderPeriodMs(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const ctx = (window as unknown as { __benchCtx: AudioContext }).__benchCtx;
    // The detector's module in "tick" mode: one message per 128-sample quantum.
    const node = new AudioWorkletNode(ctx, 'promethean-onset-detector', { processorOptions: { threshold: 1, quietMs: 0, tick: true } });
    const gaps: number[] = [];
    let last = 0;
    node.port.onmessage = () => {
      const now = performance.now();
      if (last !== 0 && now - last > 1) gaps.push(now - last); // quanta of one batch arrive together
      last = now;
    };
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(ctx.destination);
    await new Promise((r) => setTimeout(r, 1000));
    node.disconnect();
    gaps.sort((a, b) => a - b);
    return gaps.length ? gaps[gaps.length >> 1]! : Number.NaN;
  });
}

export interface ClockOffset {
  /** Page wall clock − this process' wall clock (`performance.timeOrigin + performance.now()` on both sides), ms. */
  offsetMs: number;
  /** Round trip of the best sample (the offset's uncertainty is half of it), ms. */
  rttMs: number;
}

/** This process' wall clock in ms: `performance.timeOrigin + performance.now()`. */
export function nodeWallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Offset of the page's clock from this process', from `samples` round trips: the page's reading is
 * put at the midpoint of the round trip with the smallest round trip.
 */
export async function measureClockOffset(page: Page, samples = 25): Promise<ClockOffset> {
  let best: ClockOffset = { offsetMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < samples; i++) {
    const t0 = nodeWallMs();
    const pageMs = await page.evaluate(() => performance.timeOrigin + performance.now());
    const t1 = nodeWallMs();
    if (t1 - t0 < best.rttMs) best = { offsetMs: pageMs - (t0 + t1) / 2, rttMs: t1 - t0 };
  }
  return best;
}
