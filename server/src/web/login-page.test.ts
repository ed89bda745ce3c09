import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { chromiumAvailable, launchChromium } from '../../../test/support/chromium.ts';
import { requires } from '../../../test/support/requires.ts';
import { startTempHub, type TempHub } from '../hub/testing.ts';
import { mountLoginPage } from './login-page.ts';

describe.skipIf(!requires('chromium', chromiumAvailable(), 'apt-get install chromium'))('login page in Chromium', () => {
  let hub: TempHub;
  let browser: BrowserContext;
  let agent: BusClient;
  let timer: ReturnType<typeof setInterval>;
  beforeAll(async () => {
    hub = await startTempHub({ mount: (app) => mountLoginPage(app as never) });
    agent = new BusClient({ url: hub.url, token: hub.agentKey });
    await agent.connect();
    const src = { src: 'test-bridge', provider: 'discord', tenant: 'demo' };
    // What a bridge publishes: the page must show it once signed in.
    timer = setInterval(() => {
      agent.publish(makeEnvelope('voice.state.connected', { guild_id: '1', channel_id: '2', session_id: 'g1-c2', ssrc_map: { '11': 'alice' }, sample_rate: 48000, channels: 1, frame_hop_ms: 20, status: 'connected' }, src) as Envelope);
      agent.publish(makeEnvelope('voice.health', { session_id: 'g1-c2', state: 'RUNNING', ping_ms: 12, jitter_ms: 3.5, loss_pct: 1.25, reordered: 0, clock_skew_ppm: 0, queue_depth: 0, dropped_frames: 0, malformed_packets: 0, decrypt_errors: 0, faults: [], speakers: [] }, src) as Envelope);
    }, 200);
    browser = await launchChromium();
  });
  afterAll(async () => {
    clearInterval(timer);
    await browser?.close();
    agent?.close();
    await hub?.dispose();
  });

  it('exchanges the one-time token, shows the session, and a reused link is refused', async () => {
    const { token } = hub.issueLoginToken();
    const page = await browser.newPage();
    await page.goto(`${hub.httpUrl}/login#token=${token}`);
    await page.waitForSelector('#status.ok', { timeout: 15_000 });
    expect(await page.textContent('#status')).toBe('Signed in as owner of tenant demo.');
    expect(page.url()).toBe(`${hub.httpUrl}/login`); // the token left the address bar
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr td').length >= 6, undefined, { timeout: 15_000 });
    const cells = await page.$$eval('#sessions tbody tr td', (tds) => tds.map((td) => td.textContent));
    expect(cells[0]).toBe('g1-c2');
    expect(cells[2]).toBe('alice');
    expect(cells[3]).toBe('1.3 %');
    await page.screenshot({ path: `${hub.dataDir}/login.png` });

    const second = await browser.newPage();
    await second.evaluate(() => sessionStorage.clear()).catch(() => undefined);
    await second.goto(`${hub.httpUrl}/login#token=${token}`);
    await second.waitForSelector('#status.bad', { timeout: 15_000 });
    expect(await second.textContent('#status')).not.toContain('Signed in');
  });
});
