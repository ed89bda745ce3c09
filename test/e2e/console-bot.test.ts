/**
 * The console's bot panel, end to end in real Chromium against the real stack (`promethean start
 * --no-speech` against the stand-in): the owner's "Silence the bot" button cuts the real mixer's
 * playback short (no last frame of the request ever goes out, and the mixer reports the dropped
 * request in its health), "Say this" puts the typed line on the bus as a spoken reply from the
 * owner's session, and the voice brain's switch goes out to the workers as `cephalon.toggles`. Each
 * action is in the audit log.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeEnvelope, type Envelope } from '@promethean/shared';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';
import { PROJECT_ROOT, nextEnvelope, startStack, writeTone, type Stack } from './stack.ts';

const CHROMIUM = requires('chromium', chromiumAvailable(), 'apt-get install chromium');
/** The request the bot plays: 6 s of 24 kHz mono, 300 frames of 20 ms once resampled. */
const PLAY_SECONDS = 6;
const PLAY_FRAMES = (PLAY_SECONDS * 1000) / 20;
const SHOTS = join(PROJECT_ROOT, 'test-results', 'console-bot');

describe.skipIf(!CHROMIUM)('the bot panel in the console, in Chromium', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let origin: string;
  let bearer: string;

  const audit = async (action: string): Promise<{ actor: string; detail: Record<string, unknown> }[]> => {
    const r = await fetch(`${origin}/api/audit?limit=1000`, { headers: { authorization: `Bearer ${bearer}` } });
    const rows = ((await r.json()) as { rows: { action: string; actor: string; detail: unknown }[] }).rows;
    return rows.filter((x) => x.action === action).map((x) => ({ actor: x.actor, detail: (typeof x.detail === 'string' ? JSON.parse(x.detail) : x.detail) as Record<string, unknown> }));
  };
  const panel = () => page.locator('[data-slot="bot-panel"]');

  beforeAll(async () => {
    const tones = join(PROJECT_ROOT, 'test-results', 'tones');
    await mkdir(tones, { recursive: true });
    stack = await startStack({ speakers: { alice: await writeTone(join(tones, 'alice-440.wav'), 440) }, startArgs: ['--no-speech'] });
    const alice = stack.standin.speakers.list().find((s) => s.name === 'alice')!.userId;
    origin = new URL(stack.link).origin;
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(stack.link);
    await page.locator(`[data-user-id="${alice}"]`).waitFor({ timeout: 60_000 });
    bearer = (await browser.cookies(origin)).find((c) => c.name === 'promethean_session')!.value;
    await panel().waitFor({ timeout: 15_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('"Silence the bot" cuts the mixer\'s playback short and is on record', async () => {
    const frames: { seq: number; last: boolean }[] = [];
    const out = stack.bus.subscribe(`promethean.p.discord.t.${stack.tenant}.voice.play.pcm.out`, (env) => {
      const p = env.payload as { session_id: string; play_id?: string; seq: number; last: boolean };
      if (p.session_id === stack.sessionId && p.play_id === 'e2e-long') frames.push({ seq: p.seq, last: p.last });
    });
    await out.ready;
    const pcm = new Int16Array(24_000 * PLAY_SECONDS).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 330 * i) / 24_000)));
    stack.bus.publish(
      makeEnvelope('voice.play.pcm', { session_id: stack.sessionId, play_id: 'e2e-long', format: { rate_hz: 24_000, channels: 1, codec: 'pcm_s16le' }, attachment: 0 }, { src: 'e2e-tts', provider: 'discord', tenant: stack.tenant }),
      [new Uint8Array(pcm.buffer)],
    );
    await expect.poll(() => frames.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    const stopped = nextEnvelope(stack.bus, `promethean.p.discord.t.${stack.tenant}.voice.play.stop`, (e) => (e.payload as { session_id: string }).session_id === stack.sessionId);
    const dropped = nextEnvelope(stack.bus, 'promethean.p.*.t.*.health', (e: Envelope) => e.src === 'mixer' && ((e.payload as { counters: Record<string, number> }).counters['stop.dropped'] ?? 0) >= 1);
    await panel().locator('[data-action="silence"]').click();
    const stop = await stopped;
    expect(stop.src).toMatch(/^client:[0-9a-f]{16}$/);
    await dropped;
    expect(frames.length).toBeLessThan(PLAY_FRAMES);
    expect(frames.some((f) => f.last)).toBe(false);
    out();
    await expect.poll(() => panel().locator('[data-slot="bot-line"]').textContent()).toContain('told to stop');
    const rows = await audit('bot.silence');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: `session:${stop.src.slice('client:'.length)}`, detail: { role: 'owner', session_id: stack.sessionId, envelope_id: stop.id } });
  });

  it('"Say this" puts the typed line on the bus as a spoken reply from the owner\'s session', async () => {
    const said = nextEnvelope(stack.bus, `promethean.p.discord.t.${stack.tenant}.duck.reply.message`, (e) => (e.payload as { session_id: string }).session_id === stack.sessionId);
    await panel().locator('input[name="say"]').fill('Please keep it civil, everyone.');
    await panel().getByRole('button', { name: 'Say it' }).click();
    const reply = await said;
    expect(reply.src).toMatch(/^client:[0-9a-f]{16}$/);
    expect(reply.payload).toMatchObject({ text: 'Please keep it civil, everyone.', speak: true, segment_id: expect.stringMatching(/^say:/) });
    expect((await audit('bot.say')).map((r) => r.detail.text)).toEqual(['Please keep it civil, everyone.']);
  });

  it('the voice brain\'s switch goes out to the workers and shows its new state', async () => {
    const row = panel().locator('li[data-brain="voice"]');
    await expect.poll(() => row.getAttribute('data-enabled'), { timeout: 15_000 }).toBe('false');
    const announced = nextEnvelope(stack.bus, `promethean.p.discord.t.${stack.tenant}.cephalon.toggles`, (e) =>
      (e.payload as { toggles: { guild_id: string; brain: string; enabled: boolean }[] }).toggles.some((t) => t.guild_id === stack.standin.guildId && t.brain === 'voice' && t.enabled),
    );
    await row.getByRole('button', { name: 'Turn on' }).click();
    await announced;
    await expect.poll(() => row.getAttribute('data-enabled'), { timeout: 15_000 }).toBe('true');
    expect((await audit('bot.brain.set')).map((r) => r.detail)).toEqual([expect.objectContaining({ brain: 'voice', enabled: true, role: 'owner' })]);
    await mkdir(SHOTS, { recursive: true });
    await panel().screenshot({ path: join(SHOTS, 'bot-panel.png') });
  });
});
