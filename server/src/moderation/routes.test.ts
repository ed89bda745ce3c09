/** The moderation routes on the real hub with a real (PGlite) store: scope, decisions, rule edits, audit rows. */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav, melSpectrogram, type ModerationFlag } from '@promethean/shared';
import { createHub, type Hub } from '../hub/index.ts';
import type { ModerationFlagInput, ModerationFlagRow } from '../store/index.ts';
import type { SqlStore } from '../store/sqlStore.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import { parseModerationConfig } from './config.ts';
import { RegexRunner } from './regex.ts';
import { RuleBook } from './rulebook.ts';
import { mountModerationRoutes } from './routes.ts';

const G1 = '1100000000000000001';
const G2 = '1100000000000000002';
const C1 = '1200000000000000001';
const C2 = '1200000000000000002';

let hub: Hub;
let dir: string;
let template: PgliteTemplate;
let store: SqlStore;
let rules: RuleBook;
const published: ModerationFlagRow[] = [];

const api = (path: string, token: string | undefined, body?: unknown, method?: string) =>
  fetch(`${hub.httpUrl}${path}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
const token = (role: 'owner' | 'moderator', tenant: string, guild?: string, channel?: string) =>
  hub.issueSessionToken({ role, tenant, ...(guild ? { guild } : {}), ...(channel ? { channel } : {}) }).token;

const flag = (over: Partial<ModerationFlagInput>): ModerationFlagInput => ({
  provider: 'discord', tenant: 'demo', guild_id: G1, channel_id: C1, session_id: 'vs-01', segment_id: 'seg-1', speaker_id: '1300000000000000003',
  rule_id: 'hear-me', rule_kind: 'phrase', rule_pattern: 'hear me', text: 'can everyone hear me', span_start: 13, span_end: 20, span_text: 'hear me',
  span_start_ns: '1800000000', span_end_ns: '2150000000', clip_start_ns: '1000000000', clip_end_ns: '3000000000', ...over,
});

let f1: ModerationFlagRow;
let f2: ModerationFlagRow;
let fOther: ModerationFlagRow;
let tone: Int16Array;

beforeAll(async () => {
  template = await pgliteTemplate();
  store = await template.fresh();
  rules = new RuleBook(parseModerationConfig(`
version: 1
tenants:
  discord/demo:
    guilds:
      - id: "${G1}"
        rules:
          - { id: from-file, kind: phrase, pattern: "hear me" }
`), store);
  const regex = new RegexRunner();
  dir = mkdtempSync(join(tmpdir(), 'moderation-routes-'));
  hub = await createHub({
    dataDir: dir,
    writeRuntimeFile: false,
    mount: (app, ctx) => void mountModerationRoutes(app, ctx, { store, rules, regex, publish: (f) => void published.push(f) }),
  });
  // 0.5 s of a 1 kHz tone at 48 kHz as the first flag's clip.
  tone = new Int16Array(24_000);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(10_000 * Math.sin((2 * Math.PI * 1000 * i) / 48_000));
  f1 = (await store.putModerationFlag(flag({ segment_id: 'a', clip_pcm: new Uint8Array(tone.buffer), clip_rate_hz: 48_000 }))).flag;
  f2 = (await store.putModerationFlag(flag({ segment_id: 'b', guild_id: G2, channel_id: C2 }))).flag;
  fOther = (await store.putModerationFlag(flag({ segment_id: 'c', tenant: 'acme' }))).flag;
});

afterAll(async () => {
  await hub?.close();
  await template?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /api/flags', () => {
  it('lists the tenant flags newest first for a moderator of the tenant, confined to a scoped session guild and channel', async () => {
    const list = async (t: string, q = '') => ((await (await api(`/api/flags${q}`, t)).json()) as { flags: ModerationFlag[] }).flags.map((f) => f.flag_id);
    expect(await list(token('moderator', 'demo'))).toEqual([f2.id, f1.id]);
    expect(await list(token('moderator', 'demo', G1))).toEqual([f1.id]);
    expect(await list(token('moderator', 'demo', G2, C2))).toEqual([f2.id]);
    expect(await list(token('moderator', 'demo', G1, C2))).toEqual([]);
    expect(await list(token('moderator', 'acme'))).toEqual([fOther.id]);
    expect(await list(token('owner', 'demo'), `?guild=${G2}`)).toEqual([f2.id]);
  });

  it('refuses without a session (401), a wider guild than the session (403) and a bad query (400)', async () => {
    expect((await api('/api/flags', undefined)).status).toBe(401);
    expect((await api(`/api/flags?guild=${G2}`, token('moderator', 'demo', G1))).status).toBe(403);
    expect((await api('/api/flags?status=maybe', token('moderator', 'demo'))).status).toBe(400);
    expect((await api('/api/flags?limit=0', token('moderator', 'demo'))).status).toBe(400);
    expect((await api('/api/flags?nope=1', token('moderator', 'demo'))).status).toBe(400);
  });
});

describe('a single flag, its clip and spectrogram', () => {
  it('another tenant or guild cannot read it (404 as if absent)', async () => {
    expect((await api(`/api/flags/${f1.id}`, token('moderator', 'demo'))).status).toBe(200);
    expect((await api(`/api/flags/${f1.id}`, token('owner', 'acme'))).status).toBe(404);
    expect((await api(`/api/flags/${f1.id}`, token('moderator', 'demo', G2))).status).toBe(404);
    expect((await api(`/api/flags/${f1.id}`, token('moderator', 'demo', G1, C2))).status).toBe(404);
    expect((await api('/api/flags/abc', token('moderator', 'demo'))).status).toBe(400);
  });

  it('serves the clip as WAV with the stored samples, on record, and 404 for a flag without one', async () => {
    const mod = token('moderator', 'demo');
    const res = await api(`/api/flags/${f1.id}/clip`, mod);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const wav = decodeWav(new Uint8Array(await res.arrayBuffer()));
    expect(wav.sampleRate).toBe(48_000);
    expect(wav.channels).toBe(1);
    expect(wav.frames).toBe(tone.length);
    expect(Array.from(wav.mono, (v) => Math.round(v * 32768))).toEqual(Array.from(tone));
    const rows = (await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'moderation.flag.clip');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ guild_id: G1, detail: { flag_id: f1.id } });
    expect((await api(`/api/flags/${f2.id}/clip`, mod)).status).toBe(404);
    expect((await api(`/api/flags/${f1.id}/clip`, token('moderator', 'demo', G2))).status).toBe(404);
  });

  it('serves the clip spectrogram: the loudest mel band is the one holding 1 kHz, as the mel filterbank places it', async () => {
    const res = await api(`/api/flags/${f1.id}/spectrogram`, token('moderator', 'demo'));
    const s = (await res.json()) as { n_mels: number; n_frames: number; hop_ms: number; db: number[] };
    expect(s.n_mels).toBe(64);
    expect(s.hop_ms).toBe(10);
    expect(s.db).toHaveLength(s.n_mels * s.n_frames);
    // Reference: the shared mel spectrogram of the same tone with the same settings.
    const ref = melSpectrogram(Float32Array.from(tone, (v) => v / 32768), { sampleRate: 48_000, nFft: 2048, winLength: 2048, hopLength: 480, nMels: 64, fmin: 0, fmax: 8000 });
    const mid = Math.floor(s.n_frames / 2);
    const argmax = (row: ArrayLike<number>) => Array.from(row).reduce((best, v, i, a) => (v > a[best]! ? i : best), 0);
    expect(argmax(s.db.slice(mid * 64, mid * 64 + 64))).toBe(argmax(ref.data.subarray(mid * 64, mid * 64 + 64)));
    expect((await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'moderation.flag.spectrogram')).toHaveLength(1);
  });
});

describe('POST /api/flags/:id/ack and /dismiss', () => {
  it('another tenant or guild cannot ack it; a moderator in scope can, once; it is on record and published again', async () => {
    expect((await api(`/api/flags/${f1.id}/ack`, token('owner', 'acme'), {})).status).toBe(404);
    expect((await api(`/api/flags/${f1.id}/ack`, token('moderator', 'demo', G2), {})).status).toBe(404);
    expect((await store.getModerationFlag({ provider: 'discord', tenant: 'demo', id: f1.id }))?.status).toBe('open');
    const mod = hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, name: 'Ana' }).token;
    const res = await api(`/api/flags/${f1.id}/ack`, mod, { note: 'spoke to them' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { changed: boolean; flag: ModerationFlag };
    expect(body.changed).toBe(true);
    expect(body.flag.status).toBe('acknowledged');
    expect(body.flag.decided_by).toMatch(/^session:/);
    expect(published.map((f) => [f.id, f.status])).toEqual([[f1.id, 'acknowledged']]);
    const rows = (await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'moderation.flag.ack');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ guild_id: G1, channel_id: C1, actor: body.flag.decided_by, detail: { flag_id: f1.id, role: 'moderator', name: 'Ana', note: 'spoke to them' } });
    // Already decided: nothing changes, nothing more on record.
    const again = (await (await api(`/api/flags/${f1.id}/dismiss`, mod, undefined, 'POST')).json()) as { changed: boolean; flag: ModerationFlag };
    expect(again.changed).toBe(false);
    expect(again.flag.status).toBe('acknowledged');
    expect((await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'moderation.flag.ack' || r.action === 'moderation.flag.dismiss')).toHaveLength(1);
  });

  it('dismisses, on record', async () => {
    const owner = token('owner', 'demo');
    // No body at all is fine too.
    const res = await api(`/api/flags/${f2.id}/dismiss`, owner, undefined, 'POST');
    expect(((await res.json()) as { flag: ModerationFlag }).flag.status).toBe('dismissed');
    const rows = (await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'moderation.flag.dismiss');
    expect(rows.map((r) => r.guild_id)).toEqual([G2]);
    expect((await api(`/api/flags/${f2.id}/dismiss`, owner, '{bad')).status).toBe(400);
  });
});

describe('watch rules over HTTP', () => {
  const put = (t: string, guild: string, id: string, body: unknown) => api(`/api/moderation/rules/${guild}/${id}`, t, body, 'PUT');

  it('owners create, replace and delete rules (each on record, the old version included); the rule book sees the change', async () => {
    const owner = token('owner', 'demo');
    const created = await put(owner, G1, 'phone', { kind: 'regex', pattern: '\\d{3}-\\d{4}', label: 'phone' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'phone', kind: 'regex', source: 'store', enabled: true });
    expect((await rules.rules('discord', 'demo', G1)).map((r) => r.def.id)).toEqual(['from-file', 'phone']);
    const replaced = await put(owner, G1, 'phone', { kind: 'regex', pattern: '\\d{3} \\d{4}', enabled: false });
    expect(replaced.status).toBe(200);
    const listed = (await (await api(`/api/moderation/rules?guild=${G1}`, token('moderator', 'demo'))).json()) as { rules: { id: string; source: string; enabled: boolean; quarantined: boolean }[] };
    expect(listed.rules.map((r) => [r.id, r.source, r.enabled, r.quarantined])).toEqual([['from-file', 'config', true, false], ['phone', 'store', false, false]]);
    expect((await api(`/api/moderation/rules/${G1}/phone`, owner, undefined, 'DELETE')).status).toBe(204);
    expect((await api(`/api/moderation/rules/${G1}/phone`, owner, undefined, 'DELETE')).status).toBe(404);
    expect((await rules.rules('discord', 'demo', G1)).map((r) => r.def.id)).toEqual(['from-file']);
    const rows = (await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action.startsWith('moderation.rule.'));
    expect(rows.map((r) => r.action)).toEqual(['moderation.rule.put', 'moderation.rule.put', 'moderation.rule.delete']);
    expect(rows[1]!.detail).toMatchObject({ rule_id: 'phone', rule: { pattern: '\\d{3} \\d{4}', enabled: false }, before: { pattern: '\\d{3}-\\d{4}' } });
    expect(rows[2]!.detail).toMatchObject({ before: { pattern: '\\d{3} \\d{4}' } });
  });

  it('moderators, other guilds and config rules are refused (403); a catastrophic regex or a bad body is refused (400)', async () => {
    const owner = token('owner', 'demo');
    expect((await put(token('moderator', 'demo'), G1, 'x', { kind: 'phrase', pattern: 'x' })).status).toBe(403);
    expect((await put(token('owner', 'demo', G2), G1, 'x', { kind: 'phrase', pattern: 'x' })).status).toBe(403);
    expect((await put(owner, G1, 'from-file', { kind: 'phrase', pattern: 'x' })).status).toBe(403);
    const bad = await put(owner, G1, 'evil', { kind: 'regex', pattern: '(a+)+$' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/catastrophic/);
    expect((await put(owner, G1, 'x', { kind: 'semantic', pattern: 'hurt' })).status).toBe(400);
    expect((await put(owner, G1, 'x', { kind: 'phrase', pattern: 'x', extra: true })).status).toBe(400);
    expect((await put(owner, G1, 'Bad Id', { kind: 'phrase', pattern: 'x' })).status).toBe(400);
    expect((await api(`/api/moderation/rules?guild=${G1}`, token('moderator', 'demo', G2))).status).toBe(403);
    expect((await store.listModerationRules({ provider: 'discord', tenant: 'demo' })).map((r) => r.rule_id)).toEqual([]);
  });
});
