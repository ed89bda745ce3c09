/**
 * Moderation flags in the console, end to end in real Chromium against the real stack
 * (`promethean start --no-speech` against the stand-in). An owner adds watch rules over HTTP; the test
 * plays the STT worker (it publishes final `duck.transcript.segment`s through the hub with the agent
 * key, timed on the speakers' own PCM clock as it passes on the bus), and the server's matcher raises
 * the flags with the clip cut from its PCM ring. Two consoles of the same moderator are open: the flag
 * shows in both with its speaker, rule and marked span; its clip plays (a WAV of the speaker's tone);
 * acknowledging and dismissing change the flag on the server, in the audit log, and live in the other
 * console; a reloaded console lists the flags with their decisions.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { decodeWav, makeEnvelope, parseEnvelope, type Envelope } from '@promethean/shared';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';
import { PROJECT_ROOT, nextEnvelope, startStack, writeTone, type Stack } from './stack.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results', 'console-flags');
const SHOT = '/tmp/flags-panel.png';
const TONES = { alice: 440, bob: 1250 } as const;
const ALICE_TEXT = 'Meet me at the old lighthouse tonight';
/** Alice's words, ms from the segment's start: "old lighthouse" runs 1,500–2,400 ms. */
const ALICE_WORDS = [
  { word: 'Meet', start_ms: 0, end_ms: 300 },
  { word: 'me', start_ms: 300, end_ms: 450 },
  { word: 'at', start_ms: 450, end_ms: 600 },
  { word: 'the', start_ms: 600, end_ms: 800 },
  { word: 'old', start_ms: 1500, end_ms: 1900 },
  { word: 'lighthouse', start_ms: 1900, end_ms: 2400 },
  { word: 'tonight', start_ms: 2600, end_ms: 3200 },
];
const SEGMENT_MS = 4000;
/** The server pads the span by 1 s each side within the segment: 500–3,400 ms. */
const CLIP = { from_ms: 500, to_ms: 3400 };

/** Power of `x` at `hz` (one DFT bin, exactly on the frequency). */
function powerAt(x: Float32Array, rate: number, hz: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    const a = (2 * Math.PI * hz * i) / rate;
    re += x[i]! * Math.cos(a);
    im -= x[i]! * Math.sin(a);
  }
  return (re * re + im * im) / (x.length * x.length);
}

const CHROMIUM = requires('chromium', chromiumAvailable(), 'apt-get install chromium');

describe.skipIf(!CHROMIUM)('moderation flags in the console, in Chromium', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let pages: [Page, Page];
  let ids: { alice: string; bob: string };
  let origin: string;
  let bearer: string;
  /** The newest PCM frame's monotonic ns per speaker, as the bus carried it. */
  const lastPcm = new Map<string, bigint>();
  const firstPcm = new Map<string, bigint>();
  let stopPcm: (() => void) | undefined;
  const flagIds: { alice?: string; bob?: string } = {};

  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; type: string; body: T }> => {
    const r = await fetch(`${origin}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });
    const type = r.headers.get('content-type') ?? '';
    return { status: r.status, type, body: (type.includes('json') ? await r.json() : new Uint8Array(await r.arrayBuffer())) as T };
  };

  /** A final transcript of the speaker's last `SEGMENT_MS` of audio, as the STT worker publishes it. */
  const transcript = (speaker: string, segmentId: string, text: string, words?: typeof ALICE_WORDS): Envelope => {
    const end = lastPcm.get(speaker)!;
    const start = end - BigInt(SEGMENT_MS) * 1_000_000n;
    const env = makeEnvelope(
      'duck.transcript.segment',
      {
        session_id: stack.sessionId, segment_id: segmentId, speaker, text, ts_start_ns: String(start), ts_end_ns: String(end),
        confidence: 0.9, tokens: text.split(' ').length, latency_ms: 200, language: 'en', final: true, ...(words ? { words } : {}),
      },
      { src: 'e2e-stt', provider: 'discord', tenant: stack.tenant },
    );
    parseEnvelope(structuredClone(env));
    return env;
  };

  const flagItem = (page: Page, id: string) => page.locator(`[data-slot="flags"] li[data-flag-id="${id}"]`);

  beforeAll(async () => {
    const tones = join(PROJECT_ROOT, 'test-results', 'tones');
    await mkdir(tones, { recursive: true });
    await mkdir(SHOTS, { recursive: true });
    stack = await startStack({
      speakers: { alice: await writeTone(join(tones, 'alice-440.wav'), TONES.alice), bob: await writeTone(join(tones, 'bob-1250.wav'), TONES.bob) },
      // The test plays the STT worker: a real one would transcribe the tones as well.
      startArgs: ['--no-speech'],
    });
    const list = stack.standin.speakers.list();
    ids = { alice: list.find((s) => s.name === 'alice')!.userId, bob: list.find((s) => s.name === 'bob')!.userId };
    origin = new URL(stack.link).origin;
    const pcm = stack.bus.subscribe(`promethean.p.discord.t.${stack.tenant}.voice.audio.pcm`, (env) => {
      const p = env.payload as { session_id: string; user_id: string; ts_monotonic_ns: string };
      if (p.session_id !== stack.sessionId) return;
      const ts = BigInt(p.ts_monotonic_ns);
      if (!firstPcm.has(p.user_id)) firstPcm.set(p.user_id, ts);
      if (ts > (lastPcm.get(p.user_id) ?? 0n)) lastPcm.set(p.user_id, ts);
    });
    stopPcm = pcm;
    await pcm.ready;
    browser = await launchChromium();
    const first = await browser.newPage();
    await first.goto(stack.link);
    await first.locator(`[data-user-id="${ids.alice}"]`).waitFor({ timeout: 60_000 });
    // The second console of the same moderator (the cookie is the session).
    const second = await browser.newPage();
    await second.goto(`${origin}/`);
    await second.locator(`[data-user-id="${ids.alice}"]`).waitFor({ timeout: 60_000 });
    pages = [first, second];
    const cookie = (await browser.cookies(origin)).find((c) => c.name === 'promethean_session');
    bearer = cookie!.value;
    for (const p of pages) await p.getByRole('tab', { name: 'Flags' }).click();
  }, 240_000);

  afterAll(async () => {
    stopPcm?.();
    await browser?.close();
    await stack?.close();
  });

  it('raises a flag for a matching transcript: both consoles show the speaker, the rule and the marked span, and count it', async () => {
    const guild = stack.standin.guildId;
    const put = await api<{ source: string }>(`/api/moderation/rules/${guild}/meeting-spot`, { method: 'PUT', body: JSON.stringify({ kind: 'phrase', pattern: 'old lighthouse', label: 'Meeting spot' }) });
    expect(put.status).toBe(201);
    const rules = await api<{ rules: { id: string }[] }>(`/api/moderation/rules?guild=${guild}`);
    expect(rules.body.rules.map((r) => r.id)).toContain('meeting-spot');
    expect(await pages[0].locator('[data-slot="flags"] li[data-flag-id]').count()).toBe(0);

    // Enough of Alice's audio has passed on the bus for the server's ring to hold her last 4 s.
    await expect.poll(() => (lastPcm.get(ids.alice) ?? 0n) - (firstPcm.get(ids.alice) ?? 0n) > BigInt(SEGMENT_MS + 500) * 1_000_000n, { timeout: 30_000 }).toBe(true);
    const raised = nextEnvelope(stack.bus, `promethean.p.discord.t.${stack.tenant}.moderation.flag`, (e) => (e.payload as { segment_id: string }).segment_id === 'e2e-flag-a1');
    const seg = transcript(ids.alice, 'e2e-flag-a1', ALICE_TEXT, ALICE_WORDS);
    stack.bus.publish(seg);
    const flag = (await raised).payload as { flag_id: string; status: string; rule_id: string; speaker: string; span: { text: string; start_ns: string; end_ns: string }; clip: { start_ns: string; end_ns: string; stored: boolean } };
    flagIds.alice = flag.flag_id;
    const t0 = BigInt((seg.payload as { ts_start_ns: string }).ts_start_ns);
    const ms = (n: number) => String(t0 + BigInt(n) * 1_000_000n);
    expect(flag).toMatchObject({ status: 'open', rule_id: 'meeting-spot', speaker: ids.alice });
    expect(flag.span).toMatchObject({ text: 'old lighthouse', start_ns: ms(1500), end_ns: ms(2400) });
    expect(flag.clip).toEqual({ start_ns: ms(CLIP.from_ms), end_ns: ms(CLIP.to_ms), stored: true });

    for (const page of pages) {
      const item = flagItem(page, flag.flag_id);
      await item.waitFor({ timeout: 15_000 });
      expect(await item.getAttribute('data-status')).toBe('open');
      expect(await item.getAttribute('data-rule-id')).toBe('meeting-spot');
      expect(await item.getAttribute('data-speaker')).toBe(ids.alice);
      expect(await item.locator('mark').allTextContents()).toEqual(['old lighthouse']);
      expect(await item.locator('.flag-text').textContent()).toBe(ALICE_TEXT);
      expect(await item.locator('.flag-rule').textContent()).toContain('Meeting spot');
      await expect.poll(() => item.locator('.tr-name').textContent(), { timeout: 30_000 }).toBe('Alice');
      await expect.poll(() => page.locator('.topbar [data-open-flags]').getAttribute('data-open-flags')).toBe('1');
      expect(await page.locator('#sv-tab-flags [data-open-flags]').getAttribute('data-open-flags')).toBe('1');
    }
  });

  it('serves the clip as a WAV of the speaker\'s own audio, on record, and plays it with its spectrogram in the page', async () => {
    const id = flagIds.alice!;
    const clip = await api<Uint8Array>(`/api/flags/${id}/clip`);
    expect(clip.status).toBe(200);
    expect(clip.type).toBe('audio/wav');
    const wav = decodeWav(clip.body, 'clip');
    expect(wav.sampleRate).toBe(48_000);
    expect(wav.channels).toBe(1);
    // 500–3,400 ms of the segment: 2.9 s.
    expect(wav.mono.length).toBe(((CLIP.to_ms - CLIP.from_ms) * 48_000) / 1000);
    // Alice's tone, not Bob's, and not silence.
    const alice = powerAt(wav.mono, 48_000, TONES.alice);
    const bob = powerAt(wav.mono, 48_000, TONES.bob);
    expect(alice).toBeGreaterThan(1e-3);
    expect(alice).toBeGreaterThan(100 * bob);

    const page = pages[0];
    const item = flagItem(page, id);
    await item.getByRole('button', { name: /^Play clip/ }).click();
    const audio = item.locator('audio[data-slot="flag-audio"]');
    await audio.waitFor({ timeout: 15_000 });
    await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await audio.evaluate((a: HTMLAudioElement) => a.error)).toBeNull();
    const duration = await audio.evaluate((a: HTMLAudioElement) => a.duration);
    expect(duration).toBeCloseTo((CLIP.to_ms - CLIP.from_ms) / 1000, 2);
    // It plays (the page is allowed to play media without a gesture in this browser).
    await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime > 0 || a.ended), { timeout: 15_000 }).toBe(true);

    const spectro = await api<{ n_frames: number; n_mels: number }>(`/api/flags/${id}/spectrogram`);
    expect(spectro.status).toBe(200);
    const canvas = item.locator('canvas[data-slot="flag-spectrogram"]');
    await canvas.waitFor();
    expect(Number(await canvas.getAttribute('data-frames'))).toBe(spectro.body.n_frames);
    expect(await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([spectro.body.n_frames, spectro.body.n_mels]);

    // Hearing the clip is on record like a listen.
    const audit = await api<{ rows: { action: string; detail: { flag_id?: string } }[] }>('/api/audit?limit=1000&action=moderation.flag.clip');
    expect(audit.body.rows.filter((r) => r.detail.flag_id === id).length).toBeGreaterThanOrEqual(2);
  });

  it('acknowledging in one console changes the flag on the server, in the audit log, and live in the other console', async () => {
    const id = flagIds.alice!;
    const [one, two] = pages;
    await flagItem(one, id).getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => flagItem(one, id).getAttribute('data-status'), { timeout: 15_000 }).toBe('acknowledged');
    await expect.poll(() => flagItem(two, id).getAttribute('data-status'), { timeout: 15_000 }).toBe('acknowledged');
    expect(await flagItem(two, id).getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    for (const page of pages) await expect.poll(() => page.locator('.topbar [data-open-flags]').getAttribute('data-open-flags')).toBe('0');

    const server = await api<{ status: string; decided_by?: string; decided_at?: string }>(`/api/flags/${id}`);
    expect(server.body.status).toBe('acknowledged');
    expect(server.body.decided_by).toBeTruthy();
    expect(server.body.decided_at).toBeTruthy();
    const audit = await api<{ rows: { action: string; actor: string; detail: { flag_id?: string } }[] }>('/api/audit?limit=1000');
    const mine = audit.body.rows.filter((r) => r.detail.flag_id === id).map((r) => r.action);
    expect(mine).toContain('moderation.flag');
    expect(mine.filter((a) => a === 'moderation.flag.ack')).toHaveLength(1);
    // Deciding again changes nothing.
    const again = await api<{ changed: boolean; flag: { status: string } }>(`/api/flags/${id}/dismiss`, { method: 'POST' });
    expect(again.body).toMatchObject({ changed: false, flag: { status: 'acknowledged' } });
  });

  it('a regex rule flags another speaker; dismissing it in the second console updates the first; a reloaded console lists both with their decisions', async () => {
    const guild = stack.standin.guildId;
    const put = await api(`/api/moderation/rules/${guild}/boats`, { method: 'PUT', body: JSON.stringify({ kind: 'regex', pattern: '\\bboats?\\b', label: 'Boats' }) });
    expect(put.status).toBe(201);
    await expect.poll(() => (lastPcm.get(ids.bob) ?? 0n) - (firstPcm.get(ids.bob) ?? 0n) > BigInt(SEGMENT_MS + 500) * 1_000_000n, { timeout: 30_000 }).toBe(true);
    const raised = nextEnvelope(stack.bus, `promethean.p.discord.t.${stack.tenant}.moderation.flag`, (e) => (e.payload as { segment_id: string }).segment_id === 'e2e-flag-b1');
    stack.bus.publish(transcript(ids.bob, 'e2e-flag-b1', 'Did anyone see the boat?'));
    const id = ((await raised).payload as { flag_id: string }).flag_id;
    flagIds.bob = id;
    const [one, two] = pages;
    for (const page of pages) {
      await flagItem(page, id).waitFor({ timeout: 15_000 });
      expect(await flagItem(page, id).locator('mark').allTextContents()).toEqual(['boat']);
      await expect.poll(() => flagItem(page, id).locator('.tr-name').textContent(), { timeout: 30_000 }).toBe('Bob');
    }
    // Newest first.
    expect(await one.locator('[data-slot="flags"] li[data-flag-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-flag-id')))).toEqual([id, flagIds.alice]);
    await one.screenshot({ path: join(SHOTS, '01-flags.png'), fullPage: true });

    await flagItem(two, id).getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => flagItem(one, id).getAttribute('data-status'), { timeout: 15_000 }).toBe('dismissed');
    expect((await api<{ status: string }>(`/api/flags/${id}`)).body.status).toBe('dismissed');
    const audit = await api<{ rows: { action: string; detail: { flag_id?: string } }[] }>('/api/audit?limit=1000&action=moderation.flag.dismiss');
    expect(audit.body.rows.filter((r) => r.detail.flag_id === id)).toHaveLength(1);

    // A fresh console lists them from the server (no bus news needed).
    await two.reload();
    await two.getByRole('tab', { name: 'Flags' }).click();
    await flagItem(two, id).waitFor({ timeout: 30_000 });
    expect(await two.locator('[data-slot="flags"] li[data-flag-id]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-flag-id'), e.getAttribute('data-status')]))).toEqual([
      [id, 'dismissed'],
      [flagIds.alice, 'acknowledged'],
    ]);
    await one.screenshot({ path: join(SHOTS, '02-decided.png'), fullPage: true });
    await copyFile(join(SHOTS, '01-flags.png'), SHOT);

    // On a phone screen the panel fits the width: no sideways scrolling.
    await one.setViewportSize({ width: 390, height: 844 });
    await one.locator('[data-slot="flags"]').waitFor();
    expect(await one.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await one.screenshot({ path: join(SHOTS, '03-phone.png'), fullPage: true });
  });
});
