/**
 * The matcher over the real hub and a real (PGlite) store: transcripts in, flags stored, audited and
 * published as `moderation.flag`, the mod-log post as `social.command.post`, the clip kept from PCM.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BusClient, PrometheanError, makeEnvelope, type Envelope, type ModerationFlag, type PayloadOf } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { createHub, type Hub } from '../hub/index.ts';
import type { SqlStore } from '../store/sqlStore.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import { parseModerationConfig } from './config.ts';
import { startModeration, type RunningModeration } from './index.ts';

const G1 = '1100000000000000001';
const C1 = '1200000000000000002';
const MODLOG = '1200000000000000009';
const SPEAKER = '1300000000000000003';
const CONFIG = `
version: 1
tenants:
  discord/demo:
    guilds:
      - id: "${G1}"
        mod_log_channel: "${MODLOG}"
        rules:
          - { id: hear-me, kind: phrase, pattern: "HEAR me", label: test phrase }
          - { id: phone, kind: regex, pattern: '\\b\\d{3}-\\d{4}\\b' }
          - { id: threat, kind: semantic, pattern: "I am going to hurt you", threshold: 0.5 }
`;

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let hub: Hub;
let dir: string;
let template: PgliteTemplate;
let store: SqlStore;
let modBus: BusClient;
let producer: BusClient;
let mod: RunningModeration;
const seen: Envelope[] = [];

const transcript = (segment_id: string, text: string, over: Partial<PayloadOf<'duck.transcript.segment'>> = {}) =>
  makeEnvelope('duck.transcript.segment', {
    session_id: 'vs-01', segment_id, speaker: SPEAKER, text, ts_start_ns: '10000000000', ts_end_ns: '12000000000',
    confidence: 0.9, tokens: 5, latency_ms: 300, final: true, ...over,
  }, { src: 'stt-worker', provider: 'discord', tenant: 'demo' });

const flags = () => seen.filter((e) => e.intent === 'moderation.flag').map((e) => e.payload as ModerationFlag);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'moderation-hub-'));
  hub = await createHub({ dataDir: dir, writeRuntimeFile: false });
  template = await pgliteTemplate();
  producer = new BusClient({ url: hub.url, token: hub.agentKey });
  await producer.connect();
  const subs = ['moderation.flag', 'social.command.post', 'error'].map((i) => producer.subscribe(`promethean.p.*.t.*.${i}`, (env) => void seen.push(env)));
  await Promise.all(subs.map((s) => s.ready));
});

afterAll(async () => {
  mod?.stop();
  modBus?.close();
  producer?.close();
  await template?.close();
  await hub?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  mod?.stop();
  modBus?.close();
  seen.length = 0;
  store = await template.fresh();
  modBus = new BusClient({ url: hub.url, token: hub.agentKey });
  await modBus.connect();
  mod = startModeration(agentBusFrom(modBus), store, {
    settings: parseModerationConfig(CONFIG),
    sessions: (_p, _t, s) => (s === 'vs-01' ? { guild_id: G1, channel_id: C1 } : undefined),
    logLevel: 'silent',
  });
  await mod.ready;
});

describe('the moderation matcher on the bus', () => {
  it('flags a matching transcript (stored, audited, published, posted to the mod log) and nothing for one that does not match', async () => {
    producer.publish(transcript('seg-0', 'nothing to see here'));
    producer.publish(transcript('seg-1', 'can everyone Hear me now', {
      words: [
        { word: 'can', start_ms: 0, end_ms: 200 }, { word: 'everyone', start_ms: 200, end_ms: 700 },
        { word: 'Hear', start_ms: 800, end_ms: 1000 }, { word: 'me', start_ms: 1000, end_ms: 1150 }, { word: 'now', start_ms: 1200, end_ms: 1500 },
      ],
    }));
    const [flag] = await until(() => (flags().length > 0 ? flags() : undefined), 'a flag');
    // Transcripts are handled in order: the first was checked before the second raised its flag.
    expect(mod.runtime.counters['transcripts.checked']).toBe(2);
    expect(flags()).toHaveLength(1);
    expect(flag).toMatchObject({
      status: 'open', rule_id: 'hear-me', rule_kind: 'phrase', rule_label: 'test phrase', guild_id: G1, channel_id: C1,
      session_id: 'vs-01', segment_id: 'seg-1', speaker: SPEAKER,
      span: { start: 13, end: 20, text: 'Hear me', start_ns: '10800000000', end_ns: '11150000000' },
      clip: { start_ns: '10000000000', end_ns: '12000000000', stored: false },
    });
    const stored = await store.getModerationFlag({ provider: 'discord', tenant: 'demo', id: flag!.flag_id });
    expect(stored?.span_text).toBe('Hear me');
    const audit = (await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'moderation.flag');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ guild_id: G1, channel_id: C1, actor: 'moderation', detail: { flag_id: flag!.flag_id, rule_id: 'hear-me', mod_log_channel: MODLOG } });
    const post = await until(() => seen.find((e) => e.intent === 'social.command.post'), 'the mod-log post');
    expect(post.payload).toMatchObject({ provider: 'discord', tenant: 'demo', space_urn: `urn:discord:channel:demo:${MODLOG}`, nonce: `flag-discord-demo-${flag!.flag_id}` });
    expect((post.payload as { text: string }).text).toContain(`<@${SPEAKER}>`);
  });

  it('raises one flag per matching rule, once: a repeated transcript adds none', async () => {
    producer.publish(transcript('seg-2', 'hear me, call 555-1234'));
    await until(() => flags().length === 2, 'two flags');
    expect(flags().map((f) => [f.rule_id, f.span.text]).sort()).toEqual([['hear-me', 'hear me'], ['phone', '555-1234']]);
    producer.publish(transcript('seg-2', 'hear me, call 555-1234'));
    await until(() => mod.runtime.counters['flags.repeated'] === 2, 'the repeat handled');
    expect(flags()).toHaveLength(2);
    // No embedder is configured here: the semantic rule is skipped and counted.
    expect(mod.runtime.counters['semantic.skipped_no_embedder']).toBe(2);
  });

  it('skips partial transcripts and sessions it cannot place, counting them', async () => {
    producer.publish(transcript('seg-3', 'hear me', { final: false }));
    producer.publish(transcript('seg-4', 'hear me', { session_id: 'somewhere-else' }));
    producer.publish(transcript('seg-5', 'hear me', { session_id: `${G1}-${C1}` }));
    await until(() => flags().length === 1, 'the flag of the default-named session');
    expect(flags()[0]).toMatchObject({ segment_id: 'seg-5', guild_id: G1, channel_id: C1 });
    expect(mod.runtime.counters['skipped.partial']).toBe(1);
    expect(mod.runtime.counters['skipped.unknown_session']).toBe(1);
  });

  it('keeps the audio of the clip from the speaker PCM it saw', async () => {
    const start = 10_000_000_000n;
    const all = new Int16Array(100 * 960);
    for (let i = 0; i < all.length; i++) all[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48000));
    for (let k = 0; k < 100; k++) {
      const bytes = new Uint8Array(all.buffer.slice(k * 1920, (k + 1) * 1920));
      producer.publish(makeEnvelope('voice.audio.pcm', {
        session_id: 'vs-01', user_id: SPEAKER, ts_monotonic_ns: (start + BigInt(k) * 20_000_000n).toString(),
        format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, rtp: { ssrc: 7, seq: k, timestamp: k * 960 }, attachment: 0,
      }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }), [bytes]);
    }
    await until(() => mod.clips!.counters.frames === 100, 'the PCM in the ring');
    // Words put "hear me" at 0.8–1.15 s; the clip pads 1 s each side within the segment (0–2 s).
    producer.publish(transcript('seg-6', 'can everyone hear me', {
      words: [{ word: 'hear', start_ms: 800, end_ms: 1000 }, { word: 'me', start_ms: 1000, end_ms: 1150 }],
    }));
    const [flag] = await until(() => (flags().length > 0 ? flags() : undefined), 'a flag');
    expect(flag!.clip).toEqual({ start_ns: '10000000000', end_ns: '12000000000', stored: true });
    const clip = await store.getModerationFlagClip({ provider: 'discord', tenant: 'demo', id: flag!.flag_id });
    expect(clip?.rate_hz).toBe(48000);
    const got = new Int16Array(clip!.pcm.buffer, clip!.pcm.byteOffset, clip!.pcm.byteLength / 2);
    expect(Array.from(got)).toEqual(Array.from(all));
  });

  it('refuses a transcript payload that does not fit its schema with a typed error, counted', async () => {
    const bad = { ...transcript('seg-7', 'hear me'), payload: { session_id: 'vs-01' } } as unknown as Envelope;
    const err = await mod.matcher.onTranscript(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheanError);
    expect((err as PrometheanError).code).toBe('schema');
    expect(mod.runtime.counters['rejected.duck.transcript.segment']).toBe(1);
  });
});
