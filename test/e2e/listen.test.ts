/**
 * Live listening end to end, in real Chromium: the stand-in's speakers play distinct tones through
 * the real bridge, the SFU and the console; the signed-in page hears each speaker on its own track.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';
import { mediasoupAvailable } from '../../server/src/sfu/mediasoup/worker-bin.ts';
import { PROJECT_ROOT, startStack, writeTone, type Stack } from './stack.ts';

/** Where the screenshots the note refers to are written. */
export const SCREENSHOT_ROOT = join(PROJECT_ROOT, 'test-results', 'console');

const TONE = { alice: 440, bob: 1250 } as const;

interface Hooks {
  tracks(): { user_id: string; mid: string; track_id: string }[];
  analyse(userId: string, hz: number): number;
}

/** dB at `hz` on each user's track, read in the page. */
async function spectrum(page: Page, users: string[], hz: number): Promise<Record<string, number>> {
  return page.evaluate(
    ({ users, hz }) => {
      const hooks = (window as unknown as { __promethean: Hooks }).__promethean;
      return Object.fromEntries(users.map((u) => [u, hooks.analyse(u, hz)]));
    },
    { users, hz },
  );
}

async function trackUsers(page: Page): Promise<string[]> {
  return page.evaluate(() => ((window as unknown as { __promethean?: Hooks }).__promethean?.tracks() ?? []).map((t) => t.user_id).sort());
}

/** Waits until each speaker's tone is on its own track and at least `marginDb` under on the other's. */
async function expectSeparated(page: Page, ids: { alice: string; bob: string }, marginDb = 20): Promise<void> {
  await expect
    .poll(
      async () => {
        const a = await spectrum(page, [ids.alice, ids.bob], TONE.alice);
        const b = await spectrum(page, [ids.alice, ids.bob], TONE.bob);
        return a[ids.alice]! - a[ids.bob]! >= marginDb && b[ids.bob]! - b[ids.alice]! >= marginDb;
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(true);
}

const CHROMIUM = requires('chromium', chromiumAvailable(), 'apt-get install chromium');
const DRIVERS = [
  { driver: 'werift', available: true },
  { driver: 'mediasoup', available: requires('the mediasoup worker', mediasoupAvailable(), 'bash scripts/build-mediasoup-worker.sh (the SFU\'s mediasoup driver)') },
] as const;

describe.each(DRIVERS)('live listening in Chromium ($driver)', ({ driver, available }) => {
  if (!CHROMIUM || !available) {
    it.skip('needs Chromium and the driver', () => undefined);
    return;
  }
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let ids: { alice: string; bob: string };
  const SCREENSHOT_DIR = join(SCREENSHOT_ROOT, driver);

  beforeAll(async () => {
    const dir = join(PROJECT_ROOT, 'test-results', 'tones');
    await mkdir(dir, { recursive: true });
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    stack = await startStack({
      startArgs: ['--sfu', driver],
      speakers: {
        alice: await writeTone(join(dir, 'alice-440.wav'), TONE.alice),
        bob: await writeTone(join(dir, 'bob-1250.wav'), TONE.bob),
      },
    });
    const list = stack.standin.speakers.list();
    ids = { alice: list.find((s) => s.name === 'alice')!.userId, bob: list.find((s) => s.name === 'bob')!.userId };
    browser = await launchChromium();
    page = await browser.newPage();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('the login link signs in with an HttpOnly cookie and leaves no token in the URL; speakers show names and avatars', async () => {
    await page.goto(stack.link);
    await expect.poll(() => page.url()).not.toContain('token');
    // The sign-in request completes after the fragment is gone from the address.
    await expect.poll(async () => (await browser.cookies()).some((c) => c.name === 'promethean_session'), { timeout: 15_000 }).toBe(true);
    const cookies = await browser.cookies();
    const session = cookies.find((c) => c.name === 'promethean_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    for (const name of ['Alice', 'Bob']) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 30_000 });
    // No bare snowflake where a name is known.
    const text = await page.locator('body').innerText();
    expect(text).not.toContain(ids.alice);
    expect(text).not.toContain(ids.bob);
    // Avatars are real images from the (stand-in's) CDN, loaded.
    const avatar = page.locator(`[data-user-id="${ids.alice}"] img`).first();
    await avatar.waitFor();
    await expect.poll(() => avatar.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, '01-signed-in.png'), fullPage: true });
  });

  it('"Listen to all" receives each speaker on its own track: A\'s tone on A\'s track and not on B\'s', async () => {
    await page.getByRole('button', { name: 'Listen to all' }).click();
    await expect.poll(() => trackUsers(page), { timeout: 30_000 }).toEqual([ids.alice, ids.bob].sort());
    await expectSeparated(page, ids);
    await expect.poll(() => page.locator(`[data-user-id="${ids.alice}"][data-speaking="true"]`).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, '02-listening.png'), fullPage: true });
    // On a phone screen: no sideways scrolling, the main button still there.
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.getByRole('button', { name: 'Stop listening' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, '02-listening-phone.png'), fullPage: true });
    if (viewport) await page.setViewportSize(viewport);
  });

  it('every listen is in the audit log before it was confirmed', async () => {
    const res = await page.evaluate(async () => {
      const r = await fetch('/api/audit?action=listen.start');
      return { status: r.status, body: (await r.json()) as { rows: { action: string; detail: string }[] } };
    });
    expect(res.status).toBe(200);
    const starts = res.body.rows.filter((r) => r.action === 'listen.start');
    expect(starts.length).toBeGreaterThanOrEqual(1);
  });

  it('an owner invites a named moderator from the console; the moderator hears the channel; revoking the session stops the moderator at once', async () => {
    const panel = page.locator('[data-slot="owner-controls"]');
    // Where the bot is, from the bridge's voice.channels: the owner may move it or make it leave.
    await expect.poll(async () => (await panel.locator('.bot-controls').innerText().catch(() => '')).includes('The bot is in General Voice'), { timeout: 45_000 }).toBe(true);
    await expect.poll(() => panel.getByRole('button', { name: 'Leave' }).isEnabled()).toBe(true);
    await panel.getByLabel('Name').fill('Ana (night shift)');
    await panel.getByRole('button', { name: 'Create invitation link' }).click();
    const linkBox = panel.getByRole('textbox', { name: 'Invitation link' });
    await linkBox.waitFor();
    const invitation = await linkBox.inputValue();
    expect(invitation).toMatch(/\/login#token=[A-Za-z0-9_-]{43}$/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, '03-owner-access-panel.png'), fullPage: true });

    const modContext = await launchChromium();
    try {
      const mod = await modContext.newPage();
      await mod.goto(invitation);
      await mod.getByText('Alice', { exact: true }).first().waitFor({ timeout: 30_000 });
      await mod.getByRole('button', { name: 'Listen to all' }).click();
      await expect.poll(() => trackUsers(mod), { timeout: 30_000 }).toEqual([ids.alice, ids.bob].sort());
      await page.getByRole('button', { name: 'Refresh' }).click();
      const revoke = panel.getByRole('button', { name: 'Revoke Ana (night shift)' });
      await revoke.waitFor();
      await revoke.click();
      // Its audio stops at once: the server closed its listener and its bus socket.
      await expect.poll(() => trackUsers(mod), { timeout: 30_000 }).toEqual([]);
      const rows = (await (await page.evaluate(() => fetch('/api/audit?limit=1000').then((r) => r.json()))) as { rows: { action: string }[] }).rows.map((r) => r.action);
      expect(rows).toContain('invite');
      expect(rows).toContain('session.revoke');
    } finally {
      await modContext.close();
    }
  }, 120_000);

  it('a speaker leaves and another joins while listening: the page drops and adds tracks without a reload', async () => {
    const dir = join(PROJECT_ROOT, 'test-results', 'tones');
    const carolHz = 2100;
    stack.standin.speakers.leave('bob');
    await expect.poll(() => trackUsers(page), { timeout: 30_000 }).toEqual([ids.alice]);
    const carol = stack.standin.speakers.join({ name: 'carol', file: await writeTone(join(dir, 'carol-2100.wav'), carolHz) });
    void stack.standin.speakers.play('carol', { loop: true });
    await expect.poll(() => trackUsers(page), { timeout: 30_000 }).toEqual([ids.alice, carol.userId].sort());
    await expect
      .poll(async () => {
        const s = await spectrum(page, [ids.alice, carol.userId], carolHz);
        return s[carol.userId]! - s[ids.alice]! >= 20;
      }, { timeout: 30_000, interval: 250 })
      .toBe(true);
    await page.screenshot({ path: join(SCREENSHOT_DIR, '04-speaker-changed.png'), fullPage: true });
  }, 120_000);

  it('the server process is killed while the page listens: the page recovers by itself with the same session', async () => {
    const runtime = JSON.parse(await (await import('node:fs/promises')).readFile(join(stack.dataDir, 'runtime.json'), 'utf8')) as { pid: number };
    const before = await page.evaluate(() => (window as unknown as { __promethean: Hooks }).__promethean.tracks().map((t) => t.track_id));
    process.kill(runtime.pid, 'SIGKILL');
    // New tracks from the new server, without a reload: the page listened again by itself.
    await expect
      .poll(
        async () => {
          const now = await page.evaluate(() => (window as unknown as { __promethean: Hooks }).__promethean.tracks().map((t) => t.track_id));
          return now.length === 2 && now.every((id) => !before.includes(id));
        },
        { timeout: 90_000, interval: 500 },
      )
      .toBe(true);
    const users = await trackUsers(page);
    expect(users).toContain(ids.alice);
    await expect
      .poll(async () => {
        const s = await spectrum(page, users, TONE.alice);
        const other = users.find((u) => u !== ids.alice)!;
        return s[ids.alice]! - s[other]! >= 20;
      }, { timeout: 30_000, interval: 250 })
      .toBe(true);
    await page.screenshot({ path: join(SCREENSHOT_DIR, '05-after-server-restart.png'), fullPage: true });
  }, 180_000);
});
