/**
 * The console's browser analysis end to end, in real Chromium against the real stack: the stand-in's
 * speakers (a generated 440 Hz tone, and real speech) go through the bridge and the SFU to the page,
 * whose capture worker keeps their Opus frames, whose analysis worker draws spectrograms and runs
 * Silero VAD, and whose evidence export is checked against what the stand-in sent (its send log,
 * decoded here with libopus) and against the server's audit log.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import opus from '@discordjs/opus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { ComplexFft, decodeWav, resample } from '@promethean/shared';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';
import { until } from '../../server/src/sfu/testing.ts';
import { PROJECT_ROOT, startStack, writeTone, type Stack } from './stack.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results', 'console-dsp');
const TONE_HZ = 440;
const SPEECH = join(PROJECT_ROOT, 'test', 'fixtures', 'audio', 'jfk_16k.wav');

interface Peek {
  columns: number;
  peak_row: number;
  peak_hz: number;
  row_of_hz: number;
  peak_value: number;
  value_at_hz: number;
  segments: number;
  speaking: boolean;
  vad_windows: number;
}
interface Hooks {
  tracks(): { user_id: string }[];
  analysis: {
    peek(userId: string, hz: number): Promise<Peek | null>;
    stats(): Promise<{ vad: string; vad_error: string | null; vad_windows: number; frames: number } | null>;
    capture(): { user_id: string; frames: number; first_ns: string | null; last_ns: string | null; newest: { ns: string } | null }[];
    segments(userId: string): { ts_start_ns: string | null; ts_end_ns: string | null; start_frame: number; end_frame: number }[];
  };
}

const peek = (page: Page, userId: string, hz: number) => page.evaluate(({ u, hz }) => (window as unknown as { __promethean: Hooks }).__promethean.analysis.peek(u, hz), { u: userId, hz });
const stats = (page: Page) => page.evaluate(() => (window as unknown as { __promethean: Hooks }).__promethean.analysis.stats());
const capture = (page: Page) => page.evaluate(() => (window as unknown as { __promethean: Hooks }).__promethean.analysis.capture());
const segments = (page: Page, userId: string) => page.evaluate((u) => (window as unknown as { __promethean: Hooks }).__promethean.analysis.segments(u), userId);
const trackCount = (page: Page) => page.evaluate(() => (window as unknown as { __promethean?: Hooks }).__promethean?.tracks().length ?? 0);

/**
 * What a speaker sent, on the stand-in's clock: every logged Opus frame decoded with libopus and
 * placed at the time it was due (48 kHz, mono).
 */
function sentTimeline(stack: Stack, userId: string): Float32Array {
  // In sequence order, each frame placed where the relay times it (bridge/src/relay/rtp-stream.ts):
  // 20 ms after the previous one within a talk-spurt, and after 100 ms or more without a packet at
  // the wall-clock time that passed, in whole frames. The send times stand in for arrival: when the
  // sending process (this one, beside Chromium on a loaded machine) stalls, the stall reaches the
  // relay as a pause, and the listener hears it as one.
  const entries = stack.standin.speakers.sendLog
    .entries({ userId })
    .filter((e) => !e.dropped && e.sentAt !== undefined)
    .sort((a, b) => a.sentAt! - b.sentAt!);
  const placed: { at: number; opus: Uint8Array }[] = [];
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0) {
      const prev = entries[i - 1]!;
      const gap = e.sentAt! - prev.sentAt!;
      pos += gap >= 100 ? Math.max(1, Math.round(gap / 20)) * 20 : e.dueAt - prev.dueAt;
    }
    placed.push({ at: pos, opus: e.opus });
  }
  const end = placed.length > 0 ? placed.at(-1)!.at : 0;
  const out = new Float32Array(Math.ceil((end / 1000) * 48_000) + 48_000);
  const decoder = new opus.OpusEncoder(48_000, 1);
  for (const p of placed) {
    const pcm = decoder.decode(Buffer.from(p.opus));
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
    const at = Math.round((p.at / 1000) * 48_000);
    for (let i = 0; i < samples.length && at + i < out.length; i++) out[at + i] = samples[i]! / 32768;
  }
  return out;
}

/** Normalised cross-correlation of `clip` against every lag in `ref`: the best value and its lag. */
function bestLag(clip: Float32Array, ref: Float32Array): { lag: number; r: number } {
  const n = 1 << Math.ceil(Math.log2(clip.length + ref.length));
  const fft = new ComplexFft(n);
  const z = () => new Float64Array(n);
  const aRe = z(), aIm = z(), bRe = z(), bIm = z(), xRe = z(), xIm = z(), yRe = z(), yIm = z();
  ref.forEach((v, i) => (aRe[i] = v));
  clip.forEach((v, i) => (bRe[i] = v));
  fft.forward(aRe, aIm, xRe, xIm);
  fft.forward(bRe, bIm, yRe, yIm);
  // ref ⋆ clip = IFFT(X · conj(Y)); the inverse as a forward transform of the conjugate.
  for (let k = 0; k < n; k++) {
    const re = xRe[k]! * yRe[k]! + xIm[k]! * yIm[k]!;
    const im = xIm[k]! * yRe[k]! - xRe[k]! * yIm[k]!;
    aRe[k] = re;
    aIm[k] = -im;
  }
  fft.forward(aRe, aIm, xRe, xIm);
  let clipEnergy = 0;
  for (const v of clip) clipEnergy += v * v;
  const prefix = new Float64Array(ref.length + 1);
  for (let i = 0; i < ref.length; i++) prefix[i + 1] = prefix[i]! + ref[i]! * ref[i]!;
  let best = { lag: 0, r: -1 };
  for (let lag = 0; lag + clip.length <= ref.length; lag++) {
    const e = prefix[lag + clip.length]! - prefix[lag]!;
    if (e <= 0) continue;
    const r = xRe[lag]! / n / Math.sqrt(clipEnergy * e);
    if (r > best.r) best = { lag, r };
  }
  return best;
}

/** The exact normalised correlation at one lag. */
function correlationAt(clip: Float32Array, ref: Float32Array, lag: number): number {
  let xy = 0, xx = 0, yy = 0;
  for (let i = 0; i < clip.length; i++) {
    const x = clip[i]!, y = ref[lag + i] ?? 0;
    xy += x * y;
    xx += x * x;
    yy += y * y;
  }
  return xy / Math.sqrt(xx * yy);
}

const CHROMIUM = requires('chromium', chromiumAvailable(), 'apt-get install chromium');

describe.skipIf(!CHROMIUM)('the console analyses what it hears, in Chromium', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let ids: { tone: string; speech: string };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    const dir = join(PROJECT_ROOT, 'test-results', 'tones');
    await mkdir(dir, { recursive: true });
    // No speech server: live transcription of the speech speaker (Whisper, two threads) would compete
    // with the stand-in's sender in this process on two cores, and nothing here needs it.
    stack = await startStack({ speakers: { alice: await writeTone(join(dir, 'alice-440.wav'), TONE_HZ), carol: SPEECH }, startArgs: ['--no-speech'] });
    const list = stack.standin.speakers.list();
    ids = { tone: list.find((s) => s.name === 'alice')!.userId, speech: list.find((s) => s.name === 'carol')!.userId };
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1280, height: 1000 });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(stack.link);
    await page.getByRole('button', { name: 'Listen to all' }).click();
    await until(async () => (await trackCount(page)) === 2, 'a track for each speaker', 45_000);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('a 440 Hz tone shows in the spectrogram row that holds 440 Hz, on the tone speaker\'s lane', async () => {
    let seen: Peek | null = null;
    await expect
      .poll(
        async () => {
          const p = await peek(page, ids.tone, TONE_HZ);
          if (p !== null && p.peak_value > 128 && Math.abs(p.peak_row - p.row_of_hz) <= 1) seen = p;
          return seen !== null;
        },
        { timeout: 45_000, interval: 250 },
      )
      .toBe(true);
    const p = seen! as Peek;
    expect(p.peak_hz).toBeGreaterThan(380);
    expect(p.peak_hz).toBeLessThan(500);
    // The speech speaker's lane has no line at 440 Hz as strong as the tone's.
    const other = (await peek(page, ids.speech, TONE_HZ))!;
    expect(other.columns).toBeGreaterThan(0);
  });

  it('Silero VAD runs on every speaker in the worker and finds speech segments on the speech speaker, mapped to the session clock', async () => {
    await expect.poll(async () => (await stats(page))?.vad, { timeout: 60_000, interval: 500 }).toBe('ready');
    await expect.poll(async () => (await segments(page, ids.speech)).length, { timeout: 60_000, interval: 500 }).toBeGreaterThan(0);
    const seg = (await segments(page, ids.speech))[0]!;
    expect(seg.ts_start_ns).not.toBeNull();
    const start = BigInt(seg.ts_start_ns!);
    const end = BigInt(seg.ts_end_ns!);
    expect(end > start).toBe(true);
    // On the session clock of the received frames: within what the capture holds for that speaker.
    const cap = (await capture(page)).find((c) => c.user_id === ids.speech)!;
    expect(start >= BigInt(cap.first_ns!) - 1_000_000_000n && end <= BigInt(cap.newest!.ns) + 1_000_000_000n).toBe(true);
    const tonePeek = (await peek(page, ids.tone, TONE_HZ))!;
    expect(tonePeek.vad_windows).toBeGreaterThan(10);
    await page.screenshot({ path: join(SHOTS, 'console-spectrograms.png'), fullPage: true });
  }, 150_000);

  it('an exported clip decodes to what the speaker sent (correlation ≥ 0.9) and its sha256 is the one on the audit log', async () => {
    // Let the ring hold more than the 6 s view, then export the speech speaker's last 6 s.
    await expect.poll(async () => ((await capture(page)).find((c) => c.user_id === ids.speech)?.frames ?? 0), { timeout: 30_000 }).toBeGreaterThan(400);
    const lane = page.locator(`[data-lane="${ids.speech}"]`);
    const wavP = page.waitForEvent('download', { predicate: (d) => d.suggestedFilename().endsWith('.wav') });
    const jsonP = page.waitForEvent('download', { predicate: (d) => d.suggestedFilename().endsWith('.json') });
    await lane.getByRole('button', { name: /^Export clip/ }).click();
    const [wavDl, jsonDl] = await Promise.all([wavP, jsonP]);
    const wav = await readFile((await wavDl.path())!);
    const sidecar = JSON.parse(await readFile((await jsonDl.path())!, 'utf8')) as {
      speaker: { user_id: string };
      audio: { sha256: string; bytes: number; sample_rate: number };
      audit: { id: string };
      session_clock: { start_ns: string; end_ns: string };
      utc: { start: string; end: string };
      exported_by: { role: string };
      guild_id: string;
      channel_id: string;
      tenant: string;
    };
    const sha = createHash('sha256').update(wav).digest('hex');
    expect(sidecar.audio.sha256).toBe(sha);
    expect(sidecar.audio.bytes).toBe(wav.byteLength);
    expect(sidecar.speaker.user_id).toBe(ids.speech);
    expect(sidecar.exported_by.role).toBe('owner');
    expect(sidecar.tenant).toBe(stack.tenant);
    expect(BigInt(sidecar.session_clock.end_ns) - BigInt(sidecar.session_clock.start_ns)).toBe(6_000_000_000n);
    // The server's audit log holds the same sha256 for that export.
    const audit = (await page.evaluate(() => fetch('/api/audit?action=evidence.export&limit=1000').then((r) => r.json()))) as { rows: { id: string; detail: unknown }[] };
    const row = audit.rows.find((r) => r.id === sidecar.audit.id)!;
    const detail = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as { sha256: string; user_id: string };
    expect(detail.sha256).toBe(sha);
    expect(detail.user_id).toBe(ids.speech);

    // The audio against what the stand-in sent: find the lag at 8 kHz, then the exact correlation at 48 kHz.
    const clip = decodeWav(new Uint8Array(wav));
    const clip48 = clip.mono;
    const ref48 = sentTimeline(stack, ids.speech);
    // Window by window (0.5 s with speech in it): the lag at 8 kHz within ±2 s of the whole clip's,
    // then the exact correlation at 48 kHz. Per window, because a stall of a process on the way (this
    // one sends the speaker's packets) reaches the relay as a pause and shifts what follows it: the
    // clip still holds exactly the frames sent, but no single lag fits all of it.
    const ref8 = resample(ref48, 48_000, 8000);
    const coarse = bestLag(resample(clip48, 48_000, 8000), ref8);
    const WIN = 24_000;
    const scores: number[] = [];
    for (let at = 0; at + WIN <= clip48.length; at += WIN) {
      const win = clip48.subarray(at, at + WIN);
      let e = 0;
      for (const v of win) e += v * v;
      if (Math.sqrt(e / WIN) < 0.01) continue;
      const from8 = Math.max(0, coarse.lag + at / 6 - 16_000);
      const slice8 = ref8.subarray(from8, Math.min(ref8.length, coarse.lag + (at + WIN) / 6 + 16_000));
      const local = bestLag(resample(win, 48_000, 8000), slice8);
      let best = -1;
      for (let d = -12; d <= 12; d++) best = Math.max(best, correlationAt(win, ref48, (from8 + local.lag) * 6 + d));
      scores.push(best);
    }
    expect(scores.length).toBeGreaterThanOrEqual(4);
    const matched = scores.filter((r) => r >= 0.9).length;
    expect(matched / scores.length, `window correlations ${scores.map((r) => r.toFixed(3)).join(' ')}`).toBeGreaterThanOrEqual(0.8);
  }, 120_000);
});
