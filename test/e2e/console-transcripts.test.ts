/**
 * Captions, the transcript and search in the console, end to end in real Chromium against the real
 * stack (`promethean start` against the stand-in). The test plays the STT worker and the gateway:
 * it publishes `duck.transcript.segment` (partial, then final) and `events.SocialMessageCreated`
 * through the hub with the agent key, as those agents do. The page shows the captions under the
 * speaker's tile and the lines in the transcript with names and times; the server's own message
 * indexer stores the messages, and the search page finds them by exact phrase within the selected
 * session's server only — never another guild's or another tenant's.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeEnvelope, parseEnvelope, type Envelope } from '@promethean/shared';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';
import { PROJECT_ROOT, startStack, writeTone, type Stack } from './stack.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results', 'console-transcripts');
const OTHER_TENANT = 'othertenant';
const OTHER_GUILD = '1399999999999999999';
const PHRASE = 'old lighthouse';
/**
 * Session-clock seconds of the test's segments: past any real segment of this run (the bridge's clock
 * starts near the machine's uptime), so a transcriber running alongside cannot take the captions.
 */
const T0 = 100_000_000;
/** Message ids: this server's, another guild's of the same tenant, another tenant's. */
const MSG = { mine: '1400000000000000101', otherGuild: '1400000000000000102', otherTenant: '1400000000000000103' } as const;

/** What the STT worker publishes: checked against the shared schema before it goes out. */
function transcript(stack: Stack, p: { segment_id: string; speaker: string; text: string; final: boolean; start_s: number; length_s: number; latency_ms: number; session_id?: string }): Envelope {
  const start = BigInt(Math.round(p.start_s * 1e9));
  const env = makeEnvelope(
    'duck.transcript.segment',
    {
      session_id: p.session_id ?? stack.sessionId,
      segment_id: p.segment_id,
      speaker: p.speaker,
      text: p.text,
      ts_start_ns: String(start),
      ts_end_ns: String(start + BigInt(Math.round(p.length_s * 1e9))),
      confidence: 0.87,
      tokens: p.text.split(' ').length,
      latency_ms: p.latency_ms,
      language: 'en',
      final: p.final,
    },
    { src: 'e2e-stt', provider: 'discord', tenant: stack.tenant },
  );
  parseEnvelope(structuredClone(env));
  return env;
}

/** What the gateway publishes for a new message. */
function message(tenant: string, m: { id: string; guild: string; channel: string; author: string; text: string; at: string }): Envelope {
  const env = makeEnvelope(
    'events.SocialMessageCreated',
    {
      message_id: `urn:discord:message:${tenant}:${m.id}`,
      author_urn: `urn:discord:user:${tenant}:${m.author}`,
      space_urn: `urn:discord:channel:${tenant}:${m.channel}`,
      text: m.text,
      attachments: [],
      created_at: m.at,
      provider: 'discord',
      tenant,
      provider_payload: { id: m.id, guild_id: m.guild, channel_id: m.channel },
    },
    { src: 'e2e-gateway', provider: 'discord', tenant },
  );
  parseEnvelope(structuredClone(env));
  return env;
}

/** Runs one search on the page and waits until it has finished (the page counts finished searches). */
async function runSearch(page: Page, q: string, mode: 'Exact phrase' | 'Similar meaning' | 'Phrase and meaning'): Promise<void> {
  const search = page.locator('[data-slot="search"]');
  const before = Number(await search.getAttribute('data-searches'));
  await search.getByLabel('Search words').fill(q);
  await search.getByLabel(mode).check();
  await search.getByRole('button', { name: 'Search' }).click();
  await expect.poll(async () => Number(await search.getAttribute('data-searches')), { timeout: 30_000 }).toBe(before + 1);
}

const CHROMIUM = requires('chromium', chromiumAvailable(), 'apt-get install chromium');

describe.skipIf(!CHROMIUM)('captions, transcript and search in the console, in Chromium', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let ids: { alice: string; bob: string };
  let origin: string;

  beforeAll(async () => {
    const tones = join(PROJECT_ROOT, 'test-results', 'tones');
    await mkdir(tones, { recursive: true });
    await mkdir(SHOTS, { recursive: true });
    stack = await startStack({
      speakers: { alice: await writeTone(join(tones, 'alice-440.wav'), 440), bob: await writeTone(join(tones, 'bob-1250.wav'), 1250) },
      // The test plays the STT worker: a real one would caption the tones too (Whisper hears words in them).
      startArgs: ['--no-speech'],
    });
    const list = stack.standin.speakers.list();
    ids = { alice: list.find((s) => s.name === 'alice')!.userId, bob: list.find((s) => s.name === 'bob')!.userId };
    origin = new URL(stack.link).origin;
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(stack.link);
    // Roster news has reached the page, so its transcript subscription (sent first) is in place.
    await page.locator(`[data-user-id="${ids.alice}"]`).waitFor({ timeout: 60_000 });
    await page.locator(`[data-user-id="${ids.bob}"]`).waitFor({ timeout: 60_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows a partial caption under the speaker, replaces it by the final, and lists the line with name and time', async () => {
    const alice = page.locator(`[data-user-id="${ids.alice}"] .caption`);
    stack.bus.publish(transcript(stack, { segment_id: 'e2e-a1', speaker: ids.alice, text: 'the quick brown', final: false, start_s: T0 + 100, length_s: 1.2, latency_ms: 150 }));
    await expect.poll(() => alice.locator('.caption-text').textContent(), { timeout: 15_000 }).toBe('the quick brown');
    expect(await alice.getAttribute('data-final')).toBe('false');
    expect(await alice.getAttribute('class')).toContain('is-partial');

    const final = transcript(stack, { segment_id: 'e2e-a1', speaker: ids.alice, text: 'The quick brown fox jumps over the lazy dog.', final: true, start_s: T0 + 100, length_s: 2.5, latency_ms: 400 });
    stack.bus.publish(final);
    await expect.poll(() => alice.getAttribute('data-final'), { timeout: 15_000 }).toBe('true');
    expect(await alice.locator('.caption-text').textContent()).toBe('The quick brown fox jumps over the lazy dog.');
    // Bob's tile has no caption: captions belong to their speaker.
    expect(await page.locator(`[data-user-id="${ids.bob}"] .caption-text`).count()).toBe(0);

    // One line for the segment (the partial was replaced), with Alice's name and when she spoke:
    // the final's publish time minus its latency and the segment's length.
    const line = page.locator('[data-slot="transcript"] li[data-segment-id="e2e-a1"]');
    await expect.poll(() => line.count()).toBe(1);
    expect(await line.getAttribute('data-final')).toBe('true');
    // the name comes with the roster (the gateway's member list), which may reach the page after the tile
    await expect.poll(() => line.locator('.tr-name').textContent(), { timeout: 30_000 }).toBe('Alice');
    expect(await line.locator('.tr-text').textContent()).toBe('The quick brown fox jumps over the lazy dog.');
    const spokeAt = new Date(Date.parse(final.ts) - 400 - 2500).toISOString();
    const time = line.locator('time');
    expect(await time.getAttribute('datetime')).toBe(spokeAt);
    // The shown time is that instant on the browser's clock face, HH:MM:SS.
    const face = await page.evaluate((iso) => {
      const d = new Date(iso);
      return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    }, spokeAt);
    expect(await time.textContent()).toBe(face);
  });

  it('orders the transcript by when things were said, and keeps other sessions\' lines out of this channel', async () => {
    // Bob spoke before Alice on the session clock, though his transcript arrives later.
    stack.bus.publish(transcript(stack, { segment_id: 'e2e-b1', speaker: ids.bob, text: 'Did anyone see the boat?', final: true, start_s: T0 + 90, length_s: 1.5, latency_ms: 300 }));
    stack.bus.publish(transcript(stack, { segment_id: 'e2e-x1', speaker: ids.bob, text: 'a line from another channel', final: true, start_s: T0 + 95, length_s: 1, latency_ms: 300, session_id: 'another-session' }));
    stack.bus.publish(transcript(stack, { segment_id: 'e2e-a2', speaker: ids.alice, text: 'Nobody saw it.', final: true, start_s: T0 + 110, length_s: 1, latency_ms: 300 }));
    const lines = page.locator('[data-slot="transcript"] li');
    const ours = () => lines.evaluateAll((els) => els.filter((e) => e.getAttribute('data-segment-id')!.startsWith('e2e-')).map((e) => [e.getAttribute('data-segment-id'), e.querySelector('.tr-name')!.textContent]));
    await expect.poll(ours, { timeout: 15_000 }).toEqual([['e2e-b1', 'Bob'], ['e2e-a1', 'Alice'], ['e2e-a2', 'Alice']]);
    await expect.poll(() => page.locator(`[data-user-id="${ids.bob}"] .caption-text`).textContent()).toBe('Did anyone see the boat?');
    expect(await page.locator(`[data-user-id="${ids.alice}"] .caption-text`).textContent()).toBe('Nobody saw it.');
    await page.screenshot({ path: join(SHOTS, '01-captions-and-transcript.png'), fullPage: true });
  });

  it('a page opened later shows the lines spoken before it loaded, from the server\'s transcript history, once each', async () => {
    // The same browser's session cookie; nothing is published while this page loads, so its lines come from the history.
    const later = await browser.newPage();
    try {
      await later.goto(`${origin}/`);
      const lines = later.locator('[data-slot="transcript"] li');
      const ours = () => lines.evaluateAll((els) => els.filter((e) => e.getAttribute('data-segment-id')!.startsWith('e2e-')).map((e) => [e.getAttribute('data-segment-id'), e.querySelector('.tr-text')!.textContent]));
      await expect.poll(ours, { timeout: 60_000 }).toEqual([['e2e-b1', 'Did anyone see the boat?'], ['e2e-a1', 'The quick brown fox jumps over the lazy dog.'], ['e2e-a2', 'Nobody saw it.']]);
    } finally {
      await later.close();
    }
  });

  it('finds stored messages by exact phrase within this server only: never another guild\'s or another tenant\'s', async () => {
    const guild = stack.standin.guildId;
    const channel = stack.standin.voiceChannelId;
    const mine = { id: MSG.mine, guild, channel, author: ids.alice, text: 'Meet me at the Old Lighthouse at nine', at: '2026-11-30T20:15:00.000Z' };
    const otherGuild = { id: MSG.otherGuild, guild: OTHER_GUILD, channel: '1399999999999999998', author: ids.bob, text: 'the old lighthouse (another server)', at: '2026-11-30T20:16:00.000Z' };
    const otherTenant = { id: MSG.otherTenant, guild, channel, author: ids.bob, text: 'the old lighthouse (another tenant)', at: '2026-11-30T20:17:00.000Z' };
    stack.bus.publish(message(stack.tenant, mine));
    stack.bus.publish(message(stack.tenant, otherGuild));
    stack.bus.publish(message(OTHER_TENANT, otherTenant));

    // All three are stored: the owner's unconfined search sees both of its tenant's, and an owner of
    // the other tenant (invited with the operator's key) sees that tenant's.
    const api = (path: string) => page.evaluate((p) => fetch(p).then((r) => r.json()), path) as Promise<{ hits: { id: string }[] }>;
    await expect
      .poll(async () => (await api(`/api/search?q=${encodeURIComponent(PHRASE)}&mode=phrase`)).hits.map((h) => h.id).sort(), { timeout: 30_000 })
      .toEqual([mine.id, otherGuild.id].sort());
    const runtime = JSON.parse(await readFile(join(stack.dataDir, 'runtime.json'), 'utf8')) as { key_file: string };
    const key = (await readFile(runtime.key_file, 'utf8')).trim();
    const invite = (await (await fetch(`${origin}/api/invitations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'e2e other owner', guild_id: guild, role: 'owner', tenant: OTHER_TENANT }) })).json()) as { link: string };
    const login = /#token=(.+)$/.exec(invite.link)![1]!;
    const session = await fetch(`${origin}/api/session`, { method: 'POST', headers: { authorization: `Bearer ${login}` } });
    expect(session.status).toBe(200);
    const otherToken = /promethean_session=([^;]+)/.exec(session.headers.get('set-cookie') ?? '')![1]!;
    await expect
      .poll(async () => {
        const r = await fetch(`${origin}/api/search?q=${encodeURIComponent(PHRASE)}&mode=phrase`, { headers: { authorization: `Bearer ${otherToken}` } });
        return ((await r.json()) as { hits: { id: string }[] }).hits.map((h) => h.id);
      }, { timeout: 30_000 })
      .toEqual([otherTenant.id]);

    await page.getByRole('tab', { name: 'Search' }).click();
    const search = page.locator('[data-slot="search"]');
    await runSearch(page, PHRASE, 'Exact phrase');
    const block = search.locator('.search-block[data-mode]');
    expect(await block.getAttribute('data-mode')).toBe('phrase');
    const hits = block.locator('li.hit');
    expect(await hits.evaluateAll((els) => els.map((e) => e.getAttribute('data-hit-id')))).toEqual([mine.id]);
    const hit = hits.first();
    expect(await hit.getAttribute('data-guild-id')).toBe(guild);
    expect(await hit.locator('.tr-name').textContent()).toBe('Alice');
    // The matched phrase is marked, whatever its case and spacing in the message.
    expect(await hit.locator('mark').allTextContents()).toEqual(['Old Lighthouse']);
    expect(await hit.locator('time').getAttribute('datetime')).toBe(mine.at);
    const text = await search.innerText();
    expect(text).not.toContain('another server');
    expect(text).not.toContain('another tenant');

    // The live transcript is searched too.
    expect(await search.locator('[data-slot="transcript-hits"] li.hit').count()).toBe(0);
    await runSearch(page, 'LAZY dog', 'Exact phrase');
    const lineHits = search.locator('[data-slot="transcript-hits"] li.hit');
    expect(await lineHits.evaluateAll((els) => els.map((e) => e.getAttribute('data-segment-id')))).toEqual(['e2e-a1']);
    expect(await lineHits.locator('.tr-name').textContent()).toBe('Alice');
    expect(await lineHits.locator('mark').allTextContents()).toEqual(['lazy dog']);
    expect(await block.locator('li.hit').count()).toBe(0);

    await runSearch(page, PHRASE, 'Exact phrase');
    expect(await block.locator('li.hit').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, '02-search.png'), fullPage: true });
  });

  it('searches by meaning, and by phrase and meaning, stay within this server too; a server that cannot search by meaning says so and matches the phrase', async () => {
    const search = page.locator('[data-slot="search"]');
    await runSearch(page, PHRASE, 'Similar meaning');
    const block = search.locator('.search-block[data-mode]');
    const mode = await block.getAttribute('data-mode');
    const hitGuilds = await block.locator('li.hit').evaluateAll((els) => els.map((e) => e.getAttribute('data-guild-id')));
    expect(hitGuilds.every((g) => g === stack.standin.guildId)).toBe(true);
    if (mode === 'phrase') {
      expect(await block.locator('.search-notice').textContent()).toContain('Showing exact-phrase matches instead.');
      expect(hitGuilds).toHaveLength(1);
    } else {
      expect(mode).toBe('semantic');
      expect(await block.locator('.search-notice').count()).toBe(0);
    }
    await page.screenshot({ path: join(SHOTS, '03-search-by-meaning.png'), fullPage: true });

    // Phrase and meaning: the exact match first, whatever the server could add by meaning.
    await runSearch(page, PHRASE, 'Phrase and meaning');
    const both = await block.locator('li.hit').evaluateAll((els) => els.map((e) => [e.getAttribute('data-hit-id'), e.getAttribute('data-guild-id')]));
    expect(both[0]).toEqual([MSG.mine, stack.standin.guildId]);
    expect(both.every(([id, g]) => g === stack.standin.guildId && id !== MSG.otherGuild && id !== MSG.otherTenant)).toBe(true);
  });

  it('on a phone screen both views fit the width: no sideways scrolling', async () => {
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SHOTS, '04-search-phone.png'), fullPage: true });
      await page.getByRole('tab', { name: 'Live' }).click();
      await page.locator('[data-slot="transcript"]').waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SHOTS, '05-live-phone.png'), fullPage: true });
    } finally {
      if (viewport) await page.setViewportSize(viewport);
    }
  });
});
