/**
 * Golden fixtures: one valid envelope per known intent (`<intent>.in.json`) and what parseEnvelope
 * returns for it (`<intent>.out.json`, defaults applied). Adding an intent without fixtures fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../envelope.ts';
import { PrometheanError } from '../errors.ts';
import { PAYLOAD_SCHEMAS } from './index.ts';

const DIR = new URL('../../fixtures/golden/', import.meta.url);
const files = readdirSync(DIR);
const intents = Object.keys(PAYLOAD_SCHEMAS).sort();

function load(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, DIR), 'utf8')) as Record<string, unknown>;
}

function rejection(raw: unknown): PrometheanError {
  try {
    parseEnvelope(raw);
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('parseEnvelope accepted an invalid envelope');
}

describe('golden fixtures', () => {
  it('every known intent has an .in.json / .out.json pair', () => {
    const missing = intents.filter((i) => !files.includes(`${i}.in.json`) || !files.includes(`${i}.out.json`));
    expect(missing).toEqual([]);
  });

  it('every fixture belongs to a known intent (no stale files)', () => {
    const stale = files.filter((f) => !intents.some((i) => f === `${i}.in.json` || f === `${i}.out.json`));
    expect(stale).toEqual([]);
  });

  for (const intent of intents) {
    describe(intent, () => {
      const input = load(`${intent}.in.json`);
      const output = load(`${intent}.out.json`);

      it('in.json is a well-formed envelope for its intent (dst = topic)', () => {
        expect(input.intent).toBe(intent);
        expect(input.dst).toBe(`promethean.p.${String(input.provider)}.t.${String(input.tenant)}.${intent}`);
      });

      it('in.json parses to exactly out.json', () => {
        expect(parseEnvelope(structuredClone(input))).toStrictEqual(output);
      });

      it('out.json re-parses to itself', () => {
        expect(parseEnvelope(structuredClone(output))).toStrictEqual(output);
      });

      it('a payload with an unknown extra field keeps validating the known ones', () => {
        // Payload objects strip unknown keys (zod default), so a newer producer can add fields.
        const env = structuredClone(input);
        (env.payload as Record<string, unknown>).added_in_a_later_version = 1;
        expect(parseEnvelope(env)).toStrictEqual(output);
      });
    });
  }
});

type Mutation = [name: string, intent: string, mutate: (payload: Record<string, unknown>) => void, path: string];

/** Invalid variants per area: each must be rejected with code `schema` and `path` naming the field. */
const invalid: Mutation[] = [
  ['transcript without text', 'duck.transcript.segment', (p) => delete p.text, 'payload.text'],
  ['transcript confidence above 1', 'duck.transcript.segment', (p) => (p.confidence = 1.5), 'payload.confidence'],
  ['transcript ending before it starts', 'duck.transcript.segment', (p) => (p.ts_end_ns = '1'), 'payload.ts_end_ns'],
  ['transcript ts as a number', 'duck.transcript.segment', (p) => (p.ts_start_ns = 123), 'payload.ts_start_ns'],
  ['transcript word with p > 1', 'duck.transcript.segment', (p) => ((p.words as Array<Record<string, unknown>>)[0]!.p = 2), 'payload.words.0.p'],
  ['reply with empty text', 'duck.reply.message', (p) => (p.text = ''), 'payload.text'],
  ['reply without segment_id', 'duck.reply.message', (p) => delete p.segment_id, 'payload.segment_id'],
  ['reply with unknown finish_reason', 'duck.reply.message', (p) => (p.finish_reason = 'tired'), 'payload.finish_reason'],
  ['post to a space that is not a URN', 'social.command.post', (p) => (p.space_urn = '1200000000000000002'), 'payload.space_urn'],
  ['post with neither text nor attachments', 'social.command.post', (p) => delete p.text, 'payload.text'],
  ['post attachment with both path and url', 'social.command.post', (p) => (p.attachments = [{ data_path: 'a', url: 'https://x.invalid/a' }]), 'payload.attachments.0'],
  ['post with a bad tenant token', 'social.command.post', (p) => (p.tenant = 'Demo Tenant'), 'payload.tenant'],
  ['message with a non-ISO created_at', 'events.SocialMessageCreated', (p) => (p.created_at = 'yesterday'), 'payload.created_at'],
  ['message attachment with a bad sha256', 'events.SocialMessageCreated', (p) => ((p.attachments as Array<Record<string, unknown>>)[0]!.sha256 = 'abc'), 'payload.attachments.0.sha256'],
  ['message without author', 'events.SocialMessageCreated', (p) => delete p.author_urn, 'payload.author_urn'],
  ['REST to an absolute URL', 'rest.request', (p) => (p.url = 'https://evil.invalid/steal'), 'payload.url'],
  ['REST to a protocol-relative URL', 'rest.request', (p) => (p.url = '//evil.invalid/steal'), 'payload.url'],
  ['REST with a .. segment', 'rest.request', (p) => (p.url = '/channels/../users/@me'), 'payload.url'],
  ['REST with an unknown method', 'rest.request', (p) => (p.method = 'TRACE'), 'payload.method'],
  ['REST response ok with a 4xx', 'rest.response', (p) => (p.ok = true), 'payload.ok'],
  ['REST response with status 600', 'rest.response', (p) => (p.status = 600), 'payload.status'],
  ['REST response with negative retry', 'rest.response', (p) => (p.retry_after_ms = -1), 'payload.retry_after_ms'],
  ['backfill limit 0', 'jobs.backfill.messages.enqueue', (p) => (p.limit = 0), 'payload.limit'],
  ['backfill before not a snowflake', 'jobs.backfill.messages.enqueue', (p) => (p.before = 'latest'), 'payload.before'],
  ['backfill progress without job_id', 'jobs.backfill.messages.progress', (p) => delete p.job_id, 'payload.job_id'],
  ['backfill done with unknown reason', 'jobs.backfill.messages.done', (p) => (p.reason = 'bored'), 'payload.reason'],
  ['backfill error with fractional fetched', 'jobs.backfill.messages.error', (p) => (p.fetched = 1.5), 'payload.fetched'],
  ['join without channel', 'voice.control.join', (p) => delete p.channel_id, 'payload.channel_id'],
  ['pcm with rtp seq above 65535', 'voice.audio.pcm', (p) => ((p.rtp as Record<string, unknown>).seq = 65536), 'payload.rtp.seq'],
  ['connected with 44.1 kHz', 'voice.state.connected', (p) => (p.sample_rate = 44100), 'payload.sample_rate'],
  ['health with unknown state', 'health', (p) => (p.state = 'SLEEPY'), 'payload.state'],
  ['error with unknown code', 'error', (p) => (p.code = 'oops'), 'payload.code'],
  ['capacity with a short runner id', 'dsp.capacity', (p) => (p.runner_id = 'abc'), 'payload.runner_id'],
  ['capacity above 256 streams', 'dsp.capacity', (p) => (p.capacity = 1000), 'payload.capacity'],
  ['lease with a negative next index', 'dsp.lease', (p) => (p.next_index = -1), 'payload.next_index'],
  ['streams report without running', 'dsp.streams', (p) => delete (p.streams as Array<Record<string, unknown>>)[0]!.running, 'payload.streams.0.running'],
  ['brain switch for an unknown brain', 'cephalon.toggles', (p) => ((p.toggles as Array<Record<string, unknown>>)[0]!.brain = 'telepathy'), 'payload.toggles.0.brain'],
  ['brain switch without enabled', 'cephalon.toggles', (p) => delete (p.toggles as Array<Record<string, unknown>>)[0]!.enabled, 'payload.toggles.0.enabled'],
  ['switch query without worker', 'cephalon.toggles.query', (p) => delete p.worker, 'payload.worker'],
];

describe('invalid payloads are rejected with a path naming the bad field', () => {
  for (const [name, intent, mutate, path] of invalid) {
    it(`${intent}: ${name} → ${path}`, () => {
      const env = load(`${intent}.in.json`);
      mutate(env.payload as Record<string, unknown>);
      const error = rejection(env);
      expect(error.code).toBe('schema');
      expect(error.path).toBe(path);
      expect(error.message).toContain(intent);
    });
  }

  it('every area has at least three invalid variants', () => {
    const byArea = new Map<string, number>();
    for (const [, intent] of invalid) {
      const area = intent.split('.')[0]!;
      byArea.set(area, (byArea.get(area) ?? 0) + 1);
    }
    for (const area of ['duck', 'social', 'events', 'rest', 'jobs', 'voice']) expect(byArea.get(area) ?? 0, area).toBeGreaterThanOrEqual(3);
  });
});

describe('duck.transcript.segment bad timestamps', () => {
  it('a malformed ts_end_ns is a typed schema error naming the field, not a BigInt SyntaxError', () => {
    const good = JSON.parse(readFileSync(new URL('duck.transcript.segment.in.json', DIR), 'utf8'));
    const bad = { ...good, payload: { ...good.payload, ts_end_ns: '12x' } };
    expect(() => parseEnvelope(bad)).toThrow(expect.objectContaining({ code: 'schema', path: 'payload.ts_end_ns' }));
    expect(() => parseEnvelope(bad)).toThrow(PrometheanError);
  });
});
